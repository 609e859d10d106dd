// A camera picture -> the model's input: the JavaScript side of docs/preprocessing.md.
//
// A line-by-line port of fmnist_edge/photo/conversion.py (and of the app's PhotoConversion.kt), step
// numbers as in the spec. No DOM use: RGBA pixels in (ImageData's layout), the model's H x W grey
// levels out, so the same module runs in the page and is held to the golden vectors in
// tests/golden/preprocess/ by the Chromium test. Integer steps use Math.floor on non-negative
// values only (every product stays far below 2**53); the float steps do the same operations in the
// same order as the Python and Kotlin code, so the results agree to the bit.

export const WORK_SHORT_SIDE = 96;
export const CORNER_FRACTION = 10;
export const MIN_THRESHOLD = 16;
export const NOISE_FACTOR = 4;
export const BRIDGE_FRACTION = 40;
export const MIN_GARMENT_PIXELS = 12;
export const MAX_COVER_PERCENT = 95;
export const LIGHT_BACKGROUND = 128;
export const SHARPEN = 1.0;

/** Nothing in the picture stands out from its background: there is no garment to classify. */
export class NoGarmentError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NoGarmentError';
  }
}

/** Step 1: RGBA pixels -> grey (ITU-R 601 in 16-bit fixed point), alpha composited on white. */
export function greyPixels(rgba) {
  const n = rgba.length / 4;
  const grey = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    const a = rgba[4 * i + 3];
    if (a < 255) {
      r = Math.floor((r * a + 255 * (255 - a) + 127) / 255);
      g = Math.floor((g * a + 255 * (255 - a) + 127) / 255);
      b = Math.floor((b * a + 255 * (255 - a) + 127) / 255);
    }
    grey[i] = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
  }
  return grey;
}

/**
 * Steps 0-9: a picture of one garment -> the model's outHeight x outWidth input.
 * @param {Uint8ClampedArray|Uint8Array} rgba  width * height * 4 values, row-major
 * @param {'auto'|'yes'|'no'} invert  negate (light background) by the spec's rule, always, or never
 * @returns {{image: Uint8Array, height: number, width: number, inverted: boolean, box: number[]|null,
 *            reduction: number, background: number[]|null, threshold: number}}
 * @throws {NoGarmentError} when the picture holds nothing that stands out from its background
 */
export function toModelInput(rgba, width, height, {outHeight = 28, outWidth = 28, invert = 'auto'} = {}) {
  if (!(width > 0 && height > 0) || rgba.length !== width * height * 4) {
    throw new Error(`pixels do not match ${width} x ${height}`);
  }
  if (!['auto', 'yes', 'no'].includes(invert)) throw new Error(`invert must be auto, yes or no; got ${invert}`);
  const grey = greyPixels(rgba);
  if (height === outHeight && width === outWidth) return exactSize(grey, height, width, invert);

  // Step 2: reduce to the working size.
  const k = Math.max(1, Math.floor(Math.min(height, width) / WORK_SHORT_SIDE));
  const h = Math.floor(height / k), w = Math.floor(width / k);
  const small = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) sum += grey[(y * k + dy) * width + x * k + dx];
      small[y * w + x] = Math.floor((sum + Math.floor((k * k) / 2)) / (k * k));
    }
  }

  // Step 3: the background, a bilinear blend of the corner medians.
  const p = Math.max(2, Math.floor(Math.min(h, w) / CORNER_FRACTION));
  const ph = Math.min(p, h), pw = Math.min(p, w);
  const corners = [
    patchMedian(small, w, 0, 0, ph, pw), patchMedian(small, w, 0, w - pw, ph, pw),
    patchMedian(small, w, h - ph, 0, ph, pw), patchMedian(small, w, h - ph, w - pw, ph, pw),
  ];
  const hy = Math.max(h - 1, 1), wx = Math.max(w - 1, 1);
  const diff = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = corners[0] * (hy - y) * (wx - x) + corners[1] * (hy - y) * x + corners[2] * y * (wx - x) +
        corners[3] * y * x;
      const bg = Math.floor((2 * t + hy * wx) / (2 * hy * wx));
      diff[y * w + x] = small[y * w + x] - bg;
    }
  }

  // Step 4: the threshold from the noise on the border ring.
  const ring = [];
  if (h > 1 && w > 1) {
    for (let x = 0; x < w; x++) ring.push(Math.abs(diff[x]));
    for (let x = 0; x < w; x++) ring.push(Math.abs(diff[(h - 1) * w + x]));
    for (let y = 1; y < h - 1; y++) ring.push(Math.abs(diff[y * w]));
    for (let y = 1; y < h - 1; y++) ring.push(Math.abs(diff[y * w + w - 1]));
  } else {
    for (const v of diff) ring.push(Math.abs(v));
  }
  ring.sort((a, b) => a - b);
  const noise = ring[Math.floor((ring.length - 1) / 2)];
  const threshold = Math.max(MIN_THRESHOLD, NOISE_FACTOR * noise);

  // Step 5: a 3x3 opening of the foreground mask.
  const raw = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) raw[i] = Math.abs(diff[i]) > threshold ? 1 : 0;
  const mask = dilate(erode1(raw, h, w), h, w, 1);

  // Step 6: the largest 8-connected region after bridging small gaps.
  const region = largestRegion(dilate(mask, h, w, Math.max(1, Math.floor(Math.min(h, w) / BRIDGE_FRACTION))), h, w);
  let count = 0, top = h, bottom = 0, left = w, right = 0, signedSum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (mask[i] && region[i]) {
        count++;
        top = Math.min(top, y); bottom = Math.max(bottom, y + 1);
        left = Math.min(left, x); right = Math.max(right, x + 1);
        signedSum += diff[i];
      }
    }
  }
  if (count < MIN_GARMENT_PIXELS) {
    throw new NoGarmentError('no garment found: nothing in the picture stands out from its background');
  }
  if (top === 0 && left === 0 && bottom === h && right === w && 100 * count >= MAX_COVER_PERCENT * h * w) {
    throw new NoGarmentError('no garment found: the whole picture differs from its corners ' +
      '(no background to separate the garment from)');
  }

  // Step 7: polarity.
  const inverted = invert === 'auto' ? signedSum < 0 : invert === 'yes';
  const sign = inverted ? -1 : 1;

  // Step 8: the garment's strength inside its box, the noise floor taken off.
  const bh = bottom - top, bw = right - left;
  const strength = new Float64Array(bh * bw);
  const floor = Math.floor(threshold / 2);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = (top + y) * w + left + x;
      strength[y * bw + x] = region[i] ? Math.max(0, sign * diff[i] - floor) : 0;
    }
  }

  // Step 9: fit the longest edge, centre by the box, stretch the brightest pixel to 255.
  const image = fitAndStretch(strength, bh, bw, outHeight, outWidth);
  return {image, height: outHeight, width: outWidth, inverted, box: [top, left, bottom, right], reduction: k,
    background: corners, threshold};
}

/** Step 0: a picture of exactly the model's size is already an input; negate it when its border is light. */
function exactSize(grey, h, w, invert) {
  let sum = 0, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y === 0 || y === h - 1 || x === 0 || x === w - 1) { sum += grey[y * w + x]; n++; }
    }
  }
  const flip = invert === 'yes' || (invert === 'auto' && sum >= LIGHT_BACKGROUND * n);
  const image = Uint8Array.from(grey, (v) => (flip ? 255 - v : v));
  return {image, height: h, width: w, inverted: flip, box: null, reduction: 1, background: null, threshold: 0};
}

function patchMedian(pixels, w, top, left, ph, pw) {
  const values = [];
  for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) values.push(pixels[(top + y) * w + left + x]);
  values.sort((a, b) => a - b);
  return values[Math.floor((values.length - 1) / 2)]; // the lower median: an element, no averaging
}

/** 3x3 erosion; outside the picture counts as foreground. */
function erode1(mask, h, w) {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let keep = 1;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && !mask[yy * w + xx]) keep = 0;
        }
      }
      out[y * w + x] = keep;
    }
  }
  return out;
}

/** Square (2r+1) dilation; outside the picture counts as background. */
function dilate(mask, h, w, r) {
  const rows = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
        if (mask[y * w + xx]) { rows[y * w + x] = 1; break; }
      }
    }
  }
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        if (rows[yy * w + x]) { out[y * w + x] = 1; break; }
      }
    }
  }
  return out;
}

/** The largest 8-connected region (first in raster order on a tie): runs per row joined with union-find. */
function largestRegion(mask, h, w) {
  const runRow = [], runStart = [], runEnd = [];
  for (let y = 0; y < h; y++) {
    let x = 0;
    while (x < w) {
      if (mask[y * w + x]) {
        const s = x;
        while (x < w && mask[y * w + x]) x++;
        runRow.push(y); runStart.push(s); runEnd.push(x);
      } else {
        x++;
      }
    }
  }
  const out = new Uint8Array(h * w);
  if (runRow.length === 0) return out;
  const parent = runRow.map((_, i) => i);
  const find = (start) => {
    let i = start;
    while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; }
    return i;
  };
  let previous = [], current = [], row = runRow[0];
  for (let i = 0; i < runRow.length; i++) {
    if (runRow[i] !== row) {
      previous = runRow[i] === row + 1 ? current : [];
      current = [];
      row = runRow[i];
    }
    for (const j of previous) {
      if (runStart[j] <= runEnd[i] && runStart[i] <= runEnd[j]) { // touching, diagonals included
        const a = find(i), b = find(j);
        if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
      }
    }
    current.push(i);
  }
  const sizes = new Map();
  for (let i = 0; i < runRow.length; i++) {
    const root = find(i);
    sizes.set(root, (sizes.get(root) || 0) + runEnd[i] - runStart[i]);
  }
  let best = -1, bestSize = -1;
  for (const [root, size] of sizes) {
    if (size > bestSize || (size === bestSize && root < best)) { best = root; bestSize = size; }
  }
  for (let i = 0; i < runRow.length; i++) {
    if (find(i) === best) for (let x = runStart[i]; x < runEnd[i]; x++) out[runRow[i] * w + x] = 1;
  }
  return out;
}

function fitAndStretch(strength, h, w, outH, outW) {
  let newH, newW;
  if (h * outW >= w * outH) {
    newH = outH; newW = Math.max(1, Math.floor((2 * w * outH + h) / (2 * h)));
  } else {
    newH = Math.max(1, Math.floor((2 * h * outW + w) / (2 * w))); newW = outW;
  }
  const rowWeights = areaWeights(h, newH);
  const colWeights = areaWeights(w, newW);
  const tmp = new Float64Array(newH * w); // rows first, then columns: as (A_h S) A_w^T
  for (let i = 0; i < newH; i++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let y = 0; y < h; y++) s += rowWeights[i * h + y] * strength[y * w + x];
      tmp[i * w + x] = s;
    }
  }
  const frame = new Float64Array(outH * outW);
  const top = Math.floor((outH - newH) / 2), left = Math.floor((outW - newW) / 2);
  for (let i = 0; i < newH; i++) {
    for (let j = 0; j < newW; j++) {
      let s = 0;
      for (let x = 0; x < w; x++) s += tmp[i * w + x] * colWeights[j * w + x];
      frame[(top + i) * outW + left + j] = s;
    }
  }
  // Sharpen (Fashion-MNIST's recipe does): the frame plus SHARPEN times its difference from a 3x3
  // binomial blur with edge pixels repeated, kept within [0, peak] of the unsharpened frame.
  let peak = 0;
  for (const v of frame) peak = Math.max(peak, v);
  const image = new Uint8Array(outH * outW);
  if (peak <= 0) return image;
  const kernel = [1, 2, 1];
  const scale = 255 / peak;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let total = 0;
      for (let dy = 0; dy < 3; dy++) {
        for (let dx = 0; dx < 3; dx++) {
          const yy = Math.min(Math.max(y + dy - 1, 0), outH - 1);
          const xx = Math.min(Math.max(x + dx - 1, 0), outW - 1);
          total += (kernel[dy] * kernel[dx]) * frame[yy * outW + xx];
        }
      }
      const v = frame[y * outW + x];
      const sharp = Math.min(Math.max(v + SHARPEN * (v - total / 16), 0), peak);
      image[y * outW + x] = Math.min(Math.max(Math.floor(sharp * scale + 0.5), 0), 255);
    }
  }
  return image;
}

/** (nOut x nIn) area-averaging weights: output cell i covers input [i nIn / nOut, (i+1) nIn / nOut). */
function areaWeights(nIn, nOut) {
  const weights = new Float64Array(nOut * nIn);
  const cell = nIn / nOut;
  for (let i = 0; i < nOut; i++) {
    const start = (i * nIn) / nOut;
    const end = ((i + 1) * nIn) / nOut;
    for (let j = Math.floor(start); j < Math.min(nIn, Math.ceil(end)); j++) {
      weights[i * nIn + j] = (Math.min(end, j + 1) - Math.max(start, j)) / cell;
    }
  }
  return weights;
}
