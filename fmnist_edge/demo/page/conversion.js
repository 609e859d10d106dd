// A camera picture -> the model's input: the JavaScript side of docs/preprocessing.md.
//
// A line-by-line port of fmnist_edge/photo/conversion.py (and of the app's PhotoConversion.kt), step
// numbers as in the spec. No DOM use: RGBA pixels in (ImageData's layout), the model's H x W grey
// levels out, so the same module runs in the page and is held to the golden vectors in
// tests/golden/preprocess/ by the Chromium test. Integer steps use Math.floor on non-negative
// values only (every product stays far below 2**53); the float steps do the same operations in the
// same order as the Python and Kotlin code, so the results agree to the bit.

export const WORK_SHORT_SIDE = 96;
export const BAND_FRACTION = 20;
export const TRIM = 24;
export const MIN_THRESHOLD = 16;
export const NOISE_FACTOR = 4;
export const BRIDGE_FRACTION = 40;
export const SHARP_NUMERATOR = 3, SHARP_DENOMINATOR = 2; // a sharp pixel: 2 x edge strength > 3 x threshold
export const MIN_GARMENT_PIXELS = 12;
export const MAX_COVER_PERCENT = 95;
export const LIGHT_BACKGROUND = 128;
export const SHARPEN = 1.0;
export const SMOOTH_RADIUS = 1, WIDE_SMOOTH_NOISE = 8, WIDE_SMOOTH_RADIUS = 2; // step 4: 3x3 mean, 5x5 on a textured wall
export const WALL_MARGIN_FRACTION = 20, WALL_RADIUS_FRACTION = 3, WALL_SHARE_PERCENT = 10; // step 3b
export const TILT_RUN = 64, TILT_STEPS = 37, TILT_GAIN = 95; // step 8b: slopes k / 64, turned when <= 95% of the area

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

  // Step 3: the background, a surface fitted to the border band.
  const background = fittedBackground(small, h, w);
  const first = new Int32Array(h * w);
  for (let i = 0; i < h * w; i++) first[i] = small[i] - background[i];
  // Step 3b: the wall near each pixel corrects what the surface misses (a flash's hot spot).
  const nearby = wallNearby(first, h, w);
  for (let i = 0; i < h * w; i++) background[i] += nearby[i];
  const corners = [background[0], background[w - 1], background[(h - 1) * w], background[(h - 1) * w + w - 1]];
  const raw = new Int32Array(h * w);
  for (let i = 0; i < h * w; i++) raw[i] = small[i] - background[i];

  // Steps 4-5: the smoothed difference, the threshold and the cleaned mask.
  const {diff, threshold, mask} = foregroundOf(raw, h, w);

  // Step 6: the region with the most sharp pixels (a garment's outline) after bridging small gaps.
  const sharp = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const e = Math.abs(diff[y * w + Math.min(w - 1, x + 1)] - diff[y * w + Math.max(0, x - 1)]) +
        Math.abs(diff[Math.min(h - 1, y + 1) * w + x] - diff[Math.max(0, y - 1) * w + x]);
      sharp[i] = SHARP_DENOMINATOR * e > SHARP_NUMERATOR * threshold ? 1 : 0;
    }
  }
  const region = garmentRegion(dilate(mask, h, w, Math.max(1, Math.floor(Math.min(h, w) / BRIDGE_FRACTION))),
    sharp, h, w);
  const garmentBox = boxOf((i) => mask[i] && region[i], h, w);
  const count = garmentBox.count;
  if (count < MIN_GARMENT_PIXELS) {
    throw new NoGarmentError('no garment found: nothing in the picture stands out from its background');
  }
  if (garmentBox.top === 0 && garmentBox.left === 0 && garmentBox.bottom === h && garmentBox.right === w &&
      100 * count >= MAX_COVER_PERCENT * h * w) {
    throw new NoGarmentError('no garment found: the whole picture differs from its corners ' +
      '(no background to separate the garment from)');
  }
  // The box and the polarity follow the outline (the region's sharp pixels) when it has enough pixels.
  // The 3x3 mean spreads a contrasty edge one pixel onto the wall: the outline's pixels stand out unsmoothed too.
  const inOutline = (i) => sharp[i] && region[i] && Math.abs(raw[i]) > threshold;
  const outlineBox = boxOf(inOutline, h, w);
  const decided = outlineBox.count >= MIN_GARMENT_PIXELS ? outlineBox : garmentBox;
  const {top, left, bottom, right} = decided;
  let signedSum = 0;
  for (let i = 0; i < h * w; i++) {
    if (decided === outlineBox ? inOutline(i) : mask[i] && region[i]) signedSum += diff[i];
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
      strength[y * bw + x] = region[i] ? Math.max(0, sign * raw[i] - floor) : 0;
    }
  }

  // Step 8b: turn a tilted garment upright, by the slope whose box holds its pixels in the least area.
  const ends = rowEnds((y, x) => mask[(top + y) * w + left + x] && region[(top + y) * w + left + x], bh, bw);
  const tilt = tiltOf(ends);
  const turned = tilt === 0 ? {strength, height: bh, width: bw} : turnedUpright(strength, bh, bw, ends, tilt);

  // Step 9: fit the longest edge, centre by the box, stretch the brightest pixel to 255.
  const image = fitAndStretch(turned.strength, turned.height, turned.width, outHeight, outWidth);
  return {image, height: outHeight, width: outWidth, inverted, box: [top, left, bottom, right], reduction: k,
    background: corners, threshold, tilt};
}

/** Step 8b: the first and last pixel `inside` picks in every row that has one, as [ys, xs]. */
function rowEnds(inside, h, w) {
  const ys = [], xs = [];
  for (let y = 0; y < h; y++) {
    let first = -1, last = -1;
    for (let x = 0; x < w; x++) {
      if (inside(y, x)) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) {
      ys.push(y, y);
      xs.push(first, last);
    }
  }
  return {ys, xs};
}

/** Step 8b: min p, P(k), min q, Q(k) along the axes turned by slope k / TILT_RUN. */
function spreads({ys, xs}, k) {
  let pMin = Infinity, pMax = -Infinity, qMin = Infinity, qMax = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    const p = TILT_RUN * xs[i] + k * ys[i], q = TILT_RUN * ys[i] - k * xs[i];
    pMin = Math.min(pMin, p); pMax = Math.max(pMax, p);
    qMin = Math.min(qMin, q); qMax = Math.max(qMax, q);
  }
  return {pMin, pSpread: pMax - pMin + TILT_RUN, qMin, qSpread: qMax - qMin + TILT_RUN};
}

/** Step 8b: the slope k of the least-area box (k = 0, 1, -1, 2, -2, ...; exact in BigInt), 0 unless at most
 * TILT_GAIN percent of the upright box's area. */
function tiltOf(ends) {
  const areaOf = (k) => {
    const {pSpread, qSpread} = spreads(ends, k);
    return BigInt(pSpread) * BigInt(qSpread);
  };
  const upright = areaOf(0);
  let bestK = 0, bestArea = upright, bestNorm = BigInt(TILT_RUN * TILT_RUN);
  for (let m = 1; m <= TILT_STEPS; m++) {
    for (const k of [m, -m]) {
      const area = areaOf(k), norm = BigInt(TILT_RUN * TILT_RUN + k * k);
      if (area * bestNorm < bestArea * norm) {
        bestK = k; bestArea = area; bestNorm = norm;
      }
    }
  }
  if (bestK !== 0 && 100n * bestArea * BigInt(TILT_RUN * TILT_RUN) <= BigInt(TILT_GAIN) * upright * bestNorm) {
    return bestK;
  }
  return 0;
}

/** Step 8b: the box turned by slope k / TILT_RUN that holds the tilt pixels, sampled bilinearly (0 outside). */
function turnedUpright(strength, h, w, ends, k) {
  const {pMin, pSpread, qMin, qSpread} = spreads(ends, k);
  const run = TILT_RUN, slope = k;
  const length = Math.sqrt(run * run + slope * slope);
  const width = Math.floor((pSpread - TILT_RUN) / length) + 1;
  const height = Math.floor((qSpread - TILT_RUN) / length) + 1;
  const acrossStart = pMin / length, downStart = qMin / length;
  const at = (y, x) => (y >= 0 && y < h && x >= 0 && x < w ? strength[y * w + x] : 0);
  const out = new Float64Array(height * width);
  for (let i = 0; i < height; i++) {
    const down = downStart + i;
    for (let j = 0; j < width; j++) {
      const across = acrossStart + j;
      const x = (run * across - slope * down) / length;
      const y = (slope * across + run * down) / length;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const fx = x - x0, fy = y - y0;
      out[i * width + j] = (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) +
        (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy;
    }
  }
  return {strength: out, height, width};
}

/** Steps 4-5: the difference's 3x3 mean (5x5 on a strongly textured wall), which decides the mask, the outline and the polarity (a
 * wall's grain and a print average out, an outline does not; step 8 reads the raw difference), the threshold
 * from the noise on the border ring, and the foreground mask after a 3x3 opening. */
function foregroundOf(raw, h, w) {
  let diff = meanOf(raw, h, w, SMOOTH_RADIUS);
  let noise = ringNoise(diff, h, w);
  if (noise >= WIDE_SMOOTH_NOISE) { // a strongly textured wall: a wider mean
    diff = meanOf(raw, h, w, WIDE_SMOOTH_RADIUS);
    noise = ringNoise(diff, h, w);
  }
  const threshold = Math.max(MIN_THRESHOLD, NOISE_FACTOR * noise);
  const foreground = new Uint8Array(h * w);
  for (let i = 0; i < h * w; i++) foreground[i] = Math.abs(diff[i]) > threshold ? 1 : 0;
  return {diff, threshold, mask: dilate(erode1(foreground, h, w), h, w, 1)};
}

/** Step 4: the (2r+1) x (2r+1) mean of the difference, coordinates clamped, floor((sum + side^2 // 2) / side^2). */
function meanOf(raw, h, w, r) {
  const side = 2 * r + 1;
  const diff = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = -r; dy <= r; dy++) {
        const row = Math.min(h - 1, Math.max(0, y + dy)) * w;
        for (let dx = -r; dx <= r; dx++) sum += raw[row + Math.min(w - 1, Math.max(0, x + dx))];
      }
      diff[y * w + x] = Math.floor((sum + Math.floor((side * side) / 2)) / (side * side));
    }
  }
  return diff;
}

/** Step 4: the lower median of |diff| over the outermost ring (every pixel when h or w is 1). */
function ringNoise(diff, h, w) {
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
  return ring[Math.floor((ring.length - 1) / 2)];
}

/** Step 3b: the mean difference of the wall pixels (beyond a margin around steps 4-5's foreground) within
 * short // WALL_RADIUS_FRACTION of each pixel, rounded half up, where they fill WALL_SHARE_PERCENT of the window. */
function wallNearby(raw, h, w) {
  const {mask} = foregroundOf(raw, h, w);
  const near = dilate(mask, h, w, Math.max(1, Math.floor(Math.min(h, w) / WALL_MARGIN_FRACTION)));
  const r = Math.max(1, Math.floor(Math.min(h, w) / WALL_RADIUS_FRACTION));
  // Summed-area tables of the wall's difference and of the wall pixels: exact integers.
  const sums = new Float64Array((h + 1) * (w + 1)), counts = new Float64Array((h + 1) * (w + 1));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const wall = near[y * w + x] ? 0 : 1;
      const at = (y + 1) * (w + 1) + x + 1;
      sums[at] = wall * raw[y * w + x] + sums[at - 1] + sums[at - (w + 1)] - sums[at - (w + 1) - 1];
      counts[at] = wall + counts[at - 1] + counts[at - (w + 1)] - counts[at - (w + 1) - 1];
    }
  }
  const windowOf = (table, y0, y1, x0, x1) =>
    table[y1 * (w + 1) + x1] - table[y0 * (w + 1) + x1] - table[y1 * (w + 1) + x0] + table[y0 * (w + 1) + x0];
  const out = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(w, x + r + 1);
      const total = windowOf(sums, y0, y1, x0, x1), count = windowOf(counts, y0, y1, x0, x1);
      const pixels = (y1 - y0) * (x1 - x0);
      out[y * w + x] = 100 * count >= WALL_SHARE_PERCENT * pixels ? Math.floor((2 * total + count) / (2 * count)) : 0;
    }
  }
  return out;
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

function lowerMedian(values) {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]; // an element, no averaging
}

/** Step 3's four terms at (y, x): 1, u, v, q (integers). */
function surfaceTerms(y, x, h, w) {
  const u = 2 * x - (w - 1), v = 2 * y - (h - 1);
  const q = Math.floor((u * u * (h - 1) * (h - 1) + v * v * (w - 1) * (w - 1)) / Math.max(1, (w - 1) * (h - 1)));
  return [1, u, v, q];
}

/** ((c0 + c1 u) + c2 v) + c3 q, rounded half up. */
function evaluate(c, t) {
  return Math.floor(c[0] * t[0] + c[1] * t[1] + c[2] * t[2] + c[3] * t[3] + 0.5);
}

/** Least squares over the kept pixels: exact integer normal equations, Gaussian elimination with partial pivoting. */
function leastSquares(terms, level, keep) {
  const n = 4;
  const rows = [];
  for (let i = 0; i < n; i++) {
    const row = new Array(n + 1).fill(0);
    for (let p = 0; p < level.length; p++) {
      if (!keep[p]) continue;
      for (let j = 0; j < n; j++) row[j] += terms[p][i] * terms[p][j];
      row[n] += terms[p][i] * level[p];
    }
    rows.push(row);
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r;
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    if (rows[col][col] === 0) continue;
    for (let r = col + 1; r < n; r++) {
      const factor = rows[r][col] / rows[col][col];
      for (let c = col; c <= n; c++) rows[r][c] = rows[r][c] - factor * rows[col][c];
    }
  }
  const solution = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let total = rows[r][n];
    for (let c = r + 1; c < n; c++) total = total - rows[r][c] * solution[c];
    solution[r] = rows[r][r] !== 0 ? total / rows[r][r] : 0;
  }
  return solution;
}

/** Step 3: the background c0 + c1 u + c2 v + c3 q fitted to the border band, robust to what lies on it. */
function fittedBackground(small, h, w) {
  const b = Math.max(1, Math.floor(Math.min(h, w) / BAND_FRACTION));
  const ys = [], xs = [], level = [], terms = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y < b || y >= h - b || x < b || x >= w - b) {
        ys.push(y); xs.push(x); level.push(small[y * w + x]); terms.push(surfaceTerms(y, x, h, w));
      }
    }
  }
  const m = level.length;
  const residuals = (c) => level.map((g, p) => Math.abs(g - evaluate(c, terms[p])));
  const leftOut = [() => false, (p) => ys[p] < b, (p) => ys[p] >= h - b, (p) => xs[p] < b, (p) => xs[p] >= w - b];
  let bestScore = -1, bestResidual = null;
  for (const out of leftOut) {
    const keep = Array.from({length: m}, (_, p) => !out(p));
    const residual = residuals(leastSquares(terms, level, keep));
    const score = lowerMedian(residual);
    if (bestScore < 0 || score < bestScore) { bestScore = score; bestResidual = residual; }
  }
  let keep = bestResidual.map((r) => r <= Math.max(TRIM, 4 * bestScore));
  let coefficients = null;
  for (let round = 0; round < 2; round++) {
    coefficients = leastSquares(terms, level, keep);
    const residual = residuals(coefficients);
    const limit = Math.max(TRIM, 4 * lowerMedian(residual.filter((_, p) => keep[p])));
    keep = residual.map((r) => r <= limit);
  }
  const background = new Int32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) background[y * w + x] = evaluate(coefficients, surfaceTerms(y, x, h, w));
  return background;
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

/** The bounding box (top, left, bottom, right; exclusive ends) and the count of the pixels `inside` picks. */
function boxOf(inside, h, w) {
  let count = 0, top = h, bottom = 0, left = w, right = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (inside(y * w + x)) {
        count++;
        top = Math.min(top, y); bottom = Math.max(bottom, y + 1);
        left = Math.min(left, x); right = Math.max(right, x + 1);
      }
    }
  }
  return {count, top, left, bottom, right};
}

/** The 8-connected region with the most sharp pixels (then the most pixels, then the first in raster order):
 * runs per row joined with union-find. */
function garmentRegion(mask, sharp, h, w) {
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
  const sizes = new Map(), edges = new Map();
  for (let i = 0; i < runRow.length; i++) {
    const root = find(i);
    sizes.set(root, (sizes.get(root) || 0) + runEnd[i] - runStart[i]);
    let sharpInRun = 0;
    for (let x = runStart[i]; x < runEnd[i]; x++) sharpInRun += sharp[runRow[i] * w + x];
    edges.set(root, (edges.get(root) || 0) + sharpInRun);
  }
  let best = -1, bestSize = -1, bestEdges = -1;
  for (const [root, size] of sizes) {
    const e = edges.get(root);
    if (e > bestEdges || (e === bestEdges && (size > bestSize || (size === bestSize && root < best)))) {
      best = root; bestSize = size; bestEdges = e;
    }
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
