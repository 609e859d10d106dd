// The closet page: a picture (file or camera) -> docs/preprocessing.md's conversion -> the shipped int8
// model in LiteRT.js (wasm/XNNPACK) -> the top three labels.
//
// Everything the model needs to be fed comes from the export's model.json (served by `fmnist-edge demo`
// at /model/): the labels, the input size, the input and output quantization and the polarity. The
// page holds no constants about the model. `window.closet` is the page's API for the browser test and
// the latency benchmark: they drive the same functions the buttons do.
import {loadAndCompile, loadLiteRt, Tensor} from '@litertjs/core';
import {NoGarmentError, toModelInput} from './conversion.js';

const FASHION_POLARITY = 'light garment on a dark background'; // what the conversion produces
// ?model=FILE picks a file model.json lists; otherwise the rule the app shares (demo.page_model): the uint8
// batch-1 file that looks most often ("views": 2, a mirror file, over 1), the first listed on a tie.
const ASKED_FILE = new URLSearchParams(location.search).get('model');
let modelFile = ASKED_FILE || 'the model'; // named in messages; the file chosen once model.json is read

const $ = (id) => document.getElementById(id);

/** The entry of model.json the page loads: uint8 in, batch 1, the most views. */
function pageModel(record) {
  let best = null;
  for (const entry of Object.values(record.formats || {})) {
    const input = entry && entry.io && entry.io.input;
    if (!input || input.dtype !== 'uint8' || !Array.isArray(input.shape) || input.shape[0] !== 1) continue;
    if (best === null || (entry.views || 1) > (best.views || 1)) best = entry;
  }
  return best;
}

/** The model, its record in model.json and the input contract read from it. */
async function loadModel() {
  const response = await fetch('/model/model.json');
  if (!response.ok) throw new Error(`model.json: ${response.status} ${response.statusText}`);
  const record = await response.json();
  const entry = ASKED_FILE ? Object.values(record.formats || {}).find((f) => f.file === ASKED_FILE)
                           : pageModel(record);
  if (!entry) {
    throw new Error(ASKED_FILE ? `model.json has no record of ${ASKED_FILE}`
                               : 'model.json lists no uint8 batch-1 model (export it with --format tflite-int8-b1)');
  }
  modelFile = entry.file;
  if (!entry.io || entry.io.input.dtype !== 'uint8') {
    throw new Error(`${modelFile} does not take uint8 pixels: the page runs the integer export`);
  }
  const [batch, height, width, channels] = entry.io.input.shape;
  if (batch !== 1 || channels !== 1) {
    throw new Error(`${modelFile} takes [${entry.io.input.shape}]; the page needs [1, H, W, 1]`);
  }
  if (record.input.polarity !== FASHION_POLARITY) {
    throw new Error(`${modelFile} expects "${record.input.polarity}"; the conversion gives "${FASHION_POLARITY}"`);
  }
  await loadLiteRt('/litertjs/core/wasm/');
  let compiled;
  try {
    compiled = await loadAndCompile(`/model/${modelFile}`, {accelerator: 'wasm'});
  } catch (error) {
    throw new Error(`LiteRT.js could not load it (${error.message || error})`);
  }
  return {compiled, record, entry, labels: record.labels, height, width};
}

const model = loadModel();

/** Scores for one converted image (H*W grey levels): probabilities in labels order and the time taken. */
async function classifyPixels(pixels) {
  const {compiled, entry, height, width} = await model;
  const [inScale, inZero] = entry.io.input.quantization;
  const [outScale, outZero] = entry.io.output.quantization;
  // The model's input is pixels / 255 quantized with its own (scale, zero point): 1/255 and 0 make it the
  // raw grey level, but the contract is read, not assumed.
  const quantized = Uint8Array.from(pixels, (v) => Math.min(255, Math.max(0, Math.round(v / 255 / inScale + inZero))));
  const start = performance.now();
  const input = new Tensor(quantized, [1, height, width, 1]);
  const outputs = await compiled.run(input);
  const output = await outputs[0].moveTo('wasm');
  const raw = output.toTypedArray().slice();
  const ms = performance.now() - start;
  input.delete();
  output.delete();
  return {probabilities: Array.from(raw, (q) => (q - outZero) * outScale), ms};
}

/** A picture file (any format the browser decodes) -> its RGBA pixels, exactly as stored. */
async function decodePicture(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, {colorSpaceConversion: 'none', premultiplyAlpha: 'none'});
  } catch {
    throw new Error(`${blob.name || 'the file'} is not a picture this browser can read`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', {colorSpace: 'srgb'});
  context.drawImage(bitmap, 0, 0);
  const data = context.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return data;
}

async function convert(imageData) {
  const {height, width} = await model;
  return toModelInput(imageData.data, imageData.width, imageData.height, {outHeight: height, outWidth: width});
}

/** The whole path of a picked file: decode, convert, classify, show. */
async function showPicture(blob) {
  hideMessage();
  try {
    const {labels} = await model;
    const started = performance.now();
    const converted = await convert(await decodePicture(blob));
    const convertMs = performance.now() - started;
    const {probabilities, ms} = await classifyPixels(converted.image);
    render(blob, converted, probabilities, labels, ms, convertMs);
  } catch (error) {
    $('result').hidden = true;
    showMessage(error instanceof NoGarmentError ? `${error.message}. Try a plain background.` : error.message);
  }
}

function render(blob, converted, probabilities, labels, ms, convertMs) {
  $('picture').src = URL.createObjectURL(blob);
  const canvas = $('model-input');
  canvas.width = converted.width;
  canvas.height = converted.height;
  const pixels = new ImageData(converted.width, converted.height);
  converted.image.forEach((v, i) => pixels.data.set([v, v, v, 255], 4 * i));
  canvas.getContext('2d').putImageData(pixels, 0, 0);
  $('input-size').textContent = `${converted.width}x${converted.height}${converted.inverted ? ', negated' : ''}`;
  const top3 = probabilities.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
  $('top3').replaceChildren(...top3.map(([p, i]) => {
    const item = document.createElement('li');
    item.textContent = `${labels[i]} ${(100 * p).toFixed(1)}%`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = `${Math.max(2, 100 * p)}%`;
    item.append(bar);
    return item;
  }));
  $('timing').textContent = `inference ${ms.toFixed(2)} ms (LiteRT.js, wasm), conversion ${convertMs.toFixed(1)} ms`;
  $('result').hidden = false;
}

function showMessage(text) {
  $('message').textContent = text;
  $('message').hidden = false;
}

function hideMessage() {
  $('message').hidden = true;
}

// The camera: a live preview, one frame taken as the picture.
async function startCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment'}});
    $('video').srcObject = stream;
    $('camera').hidden = false;
  } catch (error) {
    showMessage(`The camera is not available (${error.message || error.name}); choose a picture instead.`);
  }
}

function takePhoto() {
  const video = $('video');
  const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
  canvas.getContext('2d').drawImage(video, 0, 0);
  canvas.convertToBlob({type: 'image/png'}).then(showPicture);
}

$('file').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (file) showPicture(file);
});
$('camera-start').addEventListener('click', startCamera);
$('camera-take').addEventListener('click', takePhoto);

const ready = model.then(
  ({record, entry}) => {
    const views = (entry.views || 1) === 2 ? ', each picture and its mirror' : '';
    $('model-status').textContent = `${record.model}, ${modelFile} (${(entry.size_bytes / 1024).toFixed(0)} KB, ` +
      `${(100 * entry.accuracy).toFixed(2)}% on the Fashion-MNIST test set${views})`;
    return true;
  },
  (error) => {
    $('model-status').textContent = 'No model loaded.';
    showMessage(`Could not load ${modelFile}: ${error.message}`);
    return false;
  });

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

window.closet = {
  ready,
  /** Top-1 label index of every image in a base64 string of N*H*W grey levels (already converted). */
  async top1(base64) {
    const {height, width} = await model;
    const all = fromBase64(base64);
    const size = height * width;
    const labels = [];
    for (let i = 0; i < all.length / size; i++) {
      const {probabilities} = await classifyPixels(all.subarray(i * size, (i + 1) * size));
      labels.push(probabilities.indexOf(Math.max(...probabilities)));
    }
    return labels;
  },
  /** The conversion of a picture file's bytes (base64): the model input, or the no-garment message. */
  async convert(base64) {
    try {
      const converted = await convert(await decodePicture(new Blob([fromBase64(base64)])));
      const {inverted, box, reduction, background, threshold, tilt} = converted;
      return {image: Array.from(converted.image), inverted, box, reduction, background, threshold, tilt};
    } catch (error) {
      return {error: error.message, noGarment: error instanceof NoGarmentError};
    }
  },
  /** Milliseconds of each of `runs` single-image inferences (after `warmup` untimed ones). */
  async latency(runs, warmup = 20) {
    const {height, width} = await model;
    const image = new Uint8Array(height * width);
    for (let i = 0; i < warmup; i++) await classifyPixels(image);
    const times = [];
    for (let i = 0; i < runs; i++) times.push((await classifyPixels(image)).ms);
    return times;
  },
};
