// A camera picture -> the model's input: the Kotlin side of docs/preprocessing.md.
//
// A line-by-line port of fmnist_edge/photo/conversion.py, step numbers as in the spec. Pure Kotlin
// (no android.* imports): ARGB pixels in, the model's H x W grey levels out, so the JVM can test
// it against the golden vectors in tests/golden/preprocess/ without an Android device.
package org.fmnistedge.closet

const val WORK_SHORT_SIDE = 96
const val BAND_FRACTION = 20
const val TRIM = 24
const val MIN_THRESHOLD = 16
const val NOISE_FACTOR = 4
const val BRIDGE_FRACTION = 40
const val SHARP_NUMERATOR = 3  // a sharp pixel: 2 x edge strength > 3 x threshold (a garment's outline)
const val SHARP_DENOMINATOR = 2
const val MIN_GARMENT_PIXELS = 12
const val MAX_COVER_PERCENT = 95
const val LIGHT_BACKGROUND = 128
const val SHARPEN = 1.0
const val SMOOTH_RADIUS = 1          // step 4: the mask reads the 3x3 mean of the difference,
const val WIDE_SMOOTH_NOISE = 8      // the 5x5 mean when the border ring's noise is at least this (a textured wall)
const val WIDE_SMOOTH_RADIUS = 2
const val WALL_MARGIN_FRACTION = 20  // step 3b: the wall is beyond min(h, w) / 20 of the foreground,
const val WALL_RADIUS_FRACTION = 3   // averaged within min(h, w) / 3 of each pixel
const val WALL_SHARE_PERCENT = 10    // where it fills at least 10% of that window
const val TILT_RUN = 64     // step 8b: slopes k / 64, k = -TILT_STEPS..TILT_STEPS (up to 30 degrees either way)
const val TILT_STEPS = 37
const val TILT_GAIN = 95    // turned when the turned box is at most 95% of the upright one's area

enum class Invert { AUTO, YES, NO }

/** Nothing in the picture stands out from its background: there is no garment to classify. */
class NoGarmentException(message: String) : Exception(message)

/** The model input (row-major grey levels 0..255) and what the conversion decided on the way. */
class Converted(
    val image: IntArray,
    val height: Int,
    val width: Int,
    val inverted: Boolean,
    val box: IntArray?,        // top, left, bottom, right (exclusive) in the reduced picture; null at step 0
    val reduction: Int,
    val background: IntArray?, // the fitted background at the corners: top-left, top-right, bottom-left, bottom-right
    val threshold: Int,
    val tilt: Int = 0,         // step 8b's slope k / TILT_RUN the garment was turned by (0: upright)
)

/** Step 1: ARGB pixels (Android's Bitmap.getPixels layout) -> grey, alpha composited on white. */
fun greyPixels(argb: IntArray): IntArray = IntArray(argb.size) { i ->
    val p = argb[i]
    val a = (p ushr 24) and 0xFF
    var r = (p shr 16) and 0xFF
    var g = (p shr 8) and 0xFF
    var b = p and 0xFF
    if (a < 255) {
        r = (r * a + 255 * (255 - a) + 127) / 255
        g = (g * a + 255 * (255 - a) + 127) / 255
        b = (b * a + 255 * (255 - a) + 127) / 255
    }
    (19595 * r + 38470 * g + 7471 * b + 32768) shr 16
}

/** Steps 0-9: a picture of one garment (ARGB, row-major) -> the model's outHeight x outWidth input. */
fun toModelInput(argb: IntArray, width: Int, height: Int, outHeight: Int = 28, outWidth: Int = 28,
                 invert: Invert = Invert.AUTO): Converted {
    require(argb.size == width * height && width > 0 && height > 0) { "pixels do not match $width x $height" }
    val grey = greyPixels(argb)
    if (height == outHeight && width == outWidth) return exactSize(grey, height, width, invert)

    // Step 2: reduce to the working size.
    val k = maxOf(1, minOf(height, width) / WORK_SHORT_SIDE)
    val h = height / k
    val w = width / k
    val small = IntArray(h * w)
    for (y in 0 until h) for (x in 0 until w) {
        var sum = 0L
        for (dy in 0 until k) for (dx in 0 until k) sum += grey[(y * k + dy) * width + x * k + dx]
        small[y * w + x] = ((sum + (k * k) / 2) / (k * k)).toInt()
    }

    // Step 3: the background, a surface fitted to the border band.
    val fitted = fittedBackground(small, h, w)
    // Step 3b: the wall near each pixel corrects what the surface misses (a flash's hot spot).
    val nearby = wallNearby(IntArray(h * w) { small[it] - fitted[it] }, h, w)
    val background = IntArray(h * w) { fitted[it] + nearby[it] }
    val corners = intArrayOf(background[0], background[w - 1], background[(h - 1) * w], background[(h - 1) * w + w - 1])
    val rawDiff = IntArray(h * w) { small[it] - background[it] }

    // Steps 4-5: the smoothed difference, the threshold and the cleaned mask.
    val (diff, threshold, mask) = foregroundOf(rawDiff, h, w)

    // Step 6: the region with the most sharp pixels (a garment's outline) after bridging small gaps.
    val sharp = BooleanArray(h * w)
    for (y in 0 until h) for (x in 0 until w) {
        val i = y * w + x
        if (!mask[i]) continue
        val e = Math.abs(diff[y * w + minOf(w - 1, x + 1)] - diff[y * w + maxOf(0, x - 1)]) +
            Math.abs(diff[minOf(h - 1, y + 1) * w + x] - diff[maxOf(0, y - 1) * w + x])
        sharp[i] = SHARP_DENOMINATOR * e > SHARP_NUMERATOR * threshold
    }
    val region = garmentRegion(dilate(mask, h, w, maxOf(1, minOf(h, w) / BRIDGE_FRACTION)), sharp, h, w)
    val garmentBox = boxOf(h, w) { mask[it] && region[it] }
    val count = garmentBox[4]
    if (count < MIN_GARMENT_PIXELS) {
        throw NoGarmentException("no garment found: nothing in the picture stands out from its background")
    }
    if (garmentBox[0] == 0 && garmentBox[1] == 0 && garmentBox[2] == h && garmentBox[3] == w &&
        100L * count >= MAX_COVER_PERCENT.toLong() * h * w) {
        throw NoGarmentException("no garment found: the whole picture differs from its corners " +
            "(no background to separate the garment from)")
    }
    // The box and the polarity follow the outline (the region's sharp pixels) when it has enough pixels.
    // The 3x3 mean spreads a contrasty edge one pixel onto the wall: the outline's pixels stand out unsmoothed too.
    val inOutline = { i: Int -> sharp[i] && region[i] && Math.abs(rawDiff[i]) > threshold }
    val outlineBox = boxOf(h, w, inOutline)
    val byOutline = outlineBox[4] >= MIN_GARMENT_PIXELS
    val box = if (byOutline) outlineBox else garmentBox
    val top = box[0]; val left = box[1]; val bottom = box[2]; val right = box[3]
    var signedSum = 0L
    for (i in 0 until h * w) {
        if (if (byOutline) inOutline(i) else mask[i] && region[i]) signedSum += diff[i]
    }

    // Step 7: polarity.
    val inverted = when (invert) {
        Invert.AUTO -> signedSum < 0
        Invert.YES -> true
        Invert.NO -> false
    }
    val sign = if (inverted) -1 else 1

    // Step 8: the garment's strength inside its box, the noise floor taken off.
    val bh = bottom - top
    val bw = right - left
    val strength = DoubleArray(bh * bw)
    for (y in 0 until bh) for (x in 0 until bw) {
        val i = (top + y) * w + left + x
        strength[y * bw + x] = if (region[i]) maxOf(0, sign * rawDiff[i] - threshold / 2).toDouble() else 0.0
    }

    // Step 8b: turn a tilted garment upright, by the slope whose box holds its pixels in the least area.
    val ends = rowEnds(bh, bw) { y, x -> mask[(top + y) * w + left + x] && region[(top + y) * w + left + x] }
    val tilt = tiltOf(ends)
    val turned = if (tilt == 0) Turned(strength, bh, bw) else turnedUpright(strength, bh, bw, ends, tilt)

    // Step 9: fit the longest edge, centre by the box, stretch the brightest pixel to 255.
    val image = fitAndStretch(turned.strength, turned.height, turned.width, outHeight, outWidth)
    return Converted(image, outHeight, outWidth, inverted, intArrayOf(top, left, bottom, right), k, corners,
        threshold, tilt)
}

private class RowEnds(val ys: IntArray, val xs: IntArray)

private class Turned(val strength: DoubleArray, val height: Int, val width: Int)

private class Spreads(val pMin: Long, val pSpread: Long, val qMin: Long, val qSpread: Long)

/** Step 8b: the first and last pixel `inside` picks in every row that has one. */
private fun rowEnds(h: Int, w: Int, inside: (Int, Int) -> Boolean): RowEnds {
    val ys = ArrayList<Int>()
    val xs = ArrayList<Int>()
    for (y in 0 until h) {
        var first = -1
        var last = -1
        for (x in 0 until w) if (inside(y, x)) { if (first < 0) first = x; last = x }
        if (first >= 0) { ys.add(y); ys.add(y); xs.add(first); xs.add(last) }
    }
    return RowEnds(ys.toIntArray(), xs.toIntArray())
}

/** Step 8b: min p, P(k), min q, Q(k) along the axes turned by slope k / TILT_RUN. */
private fun spreads(ends: RowEnds, k: Int): Spreads {
    var pMin = Long.MAX_VALUE; var pMax = Long.MIN_VALUE; var qMin = Long.MAX_VALUE; var qMax = Long.MIN_VALUE
    for (i in ends.ys.indices) {
        val p = TILT_RUN.toLong() * ends.xs[i] + k.toLong() * ends.ys[i]
        val q = TILT_RUN.toLong() * ends.ys[i] - k.toLong() * ends.xs[i]
        pMin = minOf(pMin, p); pMax = maxOf(pMax, p); qMin = minOf(qMin, q); qMax = maxOf(qMax, q)
    }
    return Spreads(pMin, pMax - pMin + TILT_RUN, qMin, qMax - qMin + TILT_RUN)
}

/** Step 8b: the slope k of the least-area box (k = 0, 1, -1, 2, -2, ...; exact in Long), 0 unless at most
 * TILT_GAIN percent of the upright box's area. */
private fun tiltOf(ends: RowEnds): Int {
    fun areaOf(k: Int): Long = spreads(ends, k).let { it.pSpread * it.qSpread }
    val upright = areaOf(0)
    var bestK = 0
    var bestArea = upright
    var bestNorm = (TILT_RUN * TILT_RUN).toLong()
    for (m in 1..TILT_STEPS) for (k in intArrayOf(m, -m)) {
        val area = areaOf(k)
        val norm = (TILT_RUN * TILT_RUN + k * k).toLong()
        if (area * bestNorm < bestArea * norm) { bestK = k; bestArea = area; bestNorm = norm }
    }
    val turnPays = 100L * bestArea * (TILT_RUN * TILT_RUN) <= TILT_GAIN.toLong() * upright * bestNorm
    return if (bestK != 0 && turnPays) bestK else 0
}

/** Step 8b: the box turned by slope k / TILT_RUN that holds the tilt pixels, sampled bilinearly (0 outside). */
private fun turnedUpright(strength: DoubleArray, h: Int, w: Int, ends: RowEnds, k: Int): Turned {
    val s = spreads(ends, k)
    val run = TILT_RUN.toDouble()
    val slope = k.toDouble()
    val length = Math.sqrt(run * run + slope * slope)
    val width = Math.floor((s.pSpread - TILT_RUN).toDouble() / length).toInt() + 1
    val height = Math.floor((s.qSpread - TILT_RUN).toDouble() / length).toInt() + 1
    val acrossStart = s.pMin.toDouble() / length
    val downStart = s.qMin.toDouble() / length
    fun at(y: Int, x: Int): Double = if (y in 0 until h && x in 0 until w) strength[y * w + x] else 0.0
    val out = DoubleArray(height * width)
    for (i in 0 until height) {
        val down = downStart + i
        for (j in 0 until width) {
            val across = acrossStart + j
            val x = (run * across - slope * down) / length
            val y = (slope * across + run * down) / length
            val x0 = Math.floor(x).toInt()
            val y0 = Math.floor(y).toInt()
            val fx = x - x0
            val fy = y - y0
            out[i * width + j] = (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) +
                (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy
        }
    }
    return Turned(out, height, width)
}

private class Foreground(val diff: IntArray, val threshold: Int, val mask: BooleanArray) {
    operator fun component1() = diff  // destructured where steps 4-5 run: val (diff, threshold, mask) = ...
    operator fun component2() = threshold
    operator fun component3() = mask
}

/** Steps 4-5: the difference's 3x3 mean (5x5 on a strongly textured wall), which decides the mask, the outline and the polarity (a
 * wall's grain and a print average out, an outline does not; step 8 reads the raw difference), the threshold
 * from the noise on the border ring, and the foreground mask after a 3x3 opening. */
private fun foregroundOf(rawDiff: IntArray, h: Int, w: Int): Foreground {
    var diff = meanOf(rawDiff, h, w, SMOOTH_RADIUS)
    var noise = ringNoise(diff, h, w)
    if (noise >= WIDE_SMOOTH_NOISE) {  // a strongly textured wall: a wider mean
        diff = meanOf(rawDiff, h, w, WIDE_SMOOTH_RADIUS)
        noise = ringNoise(diff, h, w)
    }
    val threshold = maxOf(MIN_THRESHOLD, NOISE_FACTOR * noise)
    val foreground = BooleanArray(h * w) { Math.abs(diff[it]) > threshold }
    return Foreground(diff, threshold, dilate(erode1(foreground, h, w), h, w, 1))
}

/** Step 4: the (2r+1) x (2r+1) mean of the difference, coordinates clamped, floor((sum + side^2 / 2) / side^2). */
private fun meanOf(rawDiff: IntArray, h: Int, w: Int, r: Int): IntArray {
    val side = 2 * r + 1
    return IntArray(h * w) { i ->
        val y = i / w
        val x = i % w
        var sum = 0
        for (dy in -r..r) {
            val row = minOf(h - 1, maxOf(0, y + dy)) * w
            for (dx in -r..r) sum += rawDiff[row + minOf(w - 1, maxOf(0, x + dx))]
        }
        Math.floorDiv(sum + side * side / 2, side * side)
    }
}

/** Step 4: the lower median of |diff| over the outermost ring (every pixel when h or w is 1). */
private fun ringNoise(diff: IntArray, h: Int, w: Int): Int {
    val ring = ArrayList<Int>()
    if (h > 1 && w > 1) {
        for (x in 0 until w) ring.add(Math.abs(diff[x]))
        for (x in 0 until w) ring.add(Math.abs(diff[(h - 1) * w + x]))
        for (y in 1 until h - 1) ring.add(Math.abs(diff[y * w]))
        for (y in 1 until h - 1) ring.add(Math.abs(diff[y * w + w - 1]))
    } else {
        for (v in diff) ring.add(Math.abs(v))
    }
    ring.sort()
    return ring[(ring.size - 1) / 2]
}

/** Step 3b: the mean difference of the wall pixels (beyond a margin around steps 4-5's foreground) within
 * short / WALL_RADIUS_FRACTION of each pixel, rounded half up, where they fill WALL_SHARE_PERCENT of the window. */
private fun wallNearby(rawDiff: IntArray, h: Int, w: Int): IntArray {
    val near = dilate(foregroundOf(rawDiff, h, w).mask, h, w, maxOf(1, minOf(h, w) / WALL_MARGIN_FRACTION))
    val r = maxOf(1, minOf(h, w) / WALL_RADIUS_FRACTION)
    // Summed-area tables of the wall's difference and of the wall pixels: exact integers.
    val sums = LongArray((h + 1) * (w + 1))
    val counts = LongArray((h + 1) * (w + 1))
    for (y in 0 until h) for (x in 0 until w) {
        val wall = if (near[y * w + x]) 0L else 1L
        val at = (y + 1) * (w + 1) + x + 1
        sums[at] = wall * rawDiff[y * w + x] + sums[at - 1] + sums[at - (w + 1)] - sums[at - (w + 1) - 1]
        counts[at] = wall + counts[at - 1] + counts[at - (w + 1)] - counts[at - (w + 1) - 1]
    }
    fun windowOf(table: LongArray, y0: Int, y1: Int, x0: Int, x1: Int): Long =
        table[y1 * (w + 1) + x1] - table[y0 * (w + 1) + x1] - table[y1 * (w + 1) + x0] + table[y0 * (w + 1) + x0]
    val out = IntArray(h * w)
    for (y in 0 until h) {
        val y0 = maxOf(0, y - r)
        val y1 = minOf(h, y + r + 1)
        for (x in 0 until w) {
            val x0 = maxOf(0, x - r)
            val x1 = minOf(w, x + r + 1)
            val total = windowOf(sums, y0, y1, x0, x1)
            val count = windowOf(counts, y0, y1, x0, x1)
            val pixels = ((y1 - y0) * (x1 - x0)).toLong()
            out[y * w + x] = if (100 * count >= WALL_SHARE_PERCENT * pixels) Math.floorDiv(2 * total + count, 2 * count).toInt() else 0
        }
    }
    return out
}

/** Step 0: a picture of exactly the model's size is already an input; negate it when its border is light. */
private fun exactSize(grey: IntArray, h: Int, w: Int, invert: Invert): Converted {
    var sum = 0L
    var n = 0
    for (y in 0 until h) for (x in 0 until w) {
        if (y == 0 || y == h - 1 || x == 0 || x == w - 1) { sum += grey[y * w + x]; n++ }
    }
    val flip = invert == Invert.YES || (invert == Invert.AUTO && sum >= LIGHT_BACKGROUND.toLong() * n)
    val image = if (flip) IntArray(grey.size) { 255 - grey[it] } else grey
    return Converted(image, h, w, flip, null, 1, null, 0)
}

private fun lowerMedian(values: IntArray): Int {
    val sorted = values.copyOf()
    sorted.sort()
    return sorted[(sorted.size - 1) / 2]  // an element, no averaging
}

/** Step 3's four terms at (y, x): 1, u, v, q (integers). */
private fun surfaceTerms(y: Int, x: Int, h: Int, w: Int): LongArray {
    val u = 2L * x - (w - 1)
    val v = 2L * y - (h - 1)
    val hh = (h - 1).toLong()
    val ww = (w - 1).toLong()
    val q = (u * u * hh * hh + v * v * ww * ww) / maxOf(1L, ww * hh)
    return longArrayOf(1L, u, v, q)
}

/** ((c0 + c1 u) + c2 v) + c3 q, rounded half up. */
private fun evaluate(c: DoubleArray, t: LongArray): Int =
    Math.floor(c[0] * t[0].toDouble() + c[1] * t[1].toDouble() + c[2] * t[2].toDouble() + c[3] * t[3].toDouble() + 0.5).toInt()

/** Least squares over the kept pixels: exact integer normal equations, Gaussian elimination with partial pivoting. */
private fun leastSquares(terms: Array<LongArray>, level: IntArray, keep: BooleanArray): DoubleArray {
    val n = 4
    val sums = Array(n) { LongArray(n + 1) }
    for (p in level.indices) {
        if (!keep[p]) continue
        for (i in 0 until n) {
            for (j in 0 until n) sums[i][j] += terms[p][i] * terms[p][j]
            sums[i][n] += terms[p][i] * level[p]
        }
    }
    val rows = Array(n) { i -> DoubleArray(n + 1) { j -> sums[i][j].toDouble() } }
    for (col in 0 until n) {
        var pivot = col
        for (r in col + 1 until n) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r
        val swap = rows[col]; rows[col] = rows[pivot]; rows[pivot] = swap
        if (rows[col][col] == 0.0) continue
        for (r in col + 1 until n) {
            val factor = rows[r][col] / rows[col][col]
            for (c in col..n) rows[r][c] = rows[r][c] - factor * rows[col][c]
        }
    }
    val solution = DoubleArray(n)
    for (r in n - 1 downTo 0) {
        var total = rows[r][n]
        for (c in r + 1 until n) total = total - rows[r][c] * solution[c]
        solution[r] = if (rows[r][r] != 0.0) total / rows[r][r] else 0.0
    }
    return solution
}

/** Step 3: the background c0 + c1 u + c2 v + c3 q fitted to the border band, robust to what lies on it. */
private fun fittedBackground(small: IntArray, h: Int, w: Int): IntArray {
    val b = maxOf(1, minOf(h, w) / BAND_FRACTION)
    val ys = ArrayList<Int>()
    val xs = ArrayList<Int>()
    for (y in 0 until h) for (x in 0 until w) {
        if (y < b || y >= h - b || x < b || x >= w - b) { ys.add(y); xs.add(x) }
    }
    val m = ys.size
    val level = IntArray(m) { small[ys[it] * w + xs[it]] }
    val terms = Array(m) { surfaceTerms(ys[it], xs[it], h, w) }
    fun residuals(c: DoubleArray) = IntArray(m) { Math.abs(level[it] - evaluate(c, terms[it])) }
    val leftOut: List<(Int) -> Boolean> = listOf({ _ -> false }, { p -> ys[p] < b }, { p -> ys[p] >= h - b },
        { p -> xs[p] < b }, { p -> xs[p] >= w - b })
    var bestScore = -1
    var bestResidual = IntArray(0)
    for (out in leftOut) {
        val residual = residuals(leastSquares(terms, level, BooleanArray(m) { !out(it) }))
        val score = lowerMedian(residual)
        if (bestScore < 0 || score < bestScore) { bestScore = score; bestResidual = residual }
    }
    var keep = BooleanArray(m) { bestResidual[it] <= maxOf(TRIM, 4 * bestScore) }
    var coefficients = DoubleArray(4)
    repeat(2) {
        coefficients = leastSquares(terms, level, keep)
        val residual = residuals(coefficients)
        val kept = keep
        val limit = maxOf(TRIM, 4 * lowerMedian(residual.filterIndexed { p, _ -> kept[p] }.toIntArray()))
        keep = BooleanArray(m) { residual[it] <= limit }
    }
    val background = IntArray(h * w)
    for (y in 0 until h) for (x in 0 until w) background[y * w + x] = evaluate(coefficients, surfaceTerms(y, x, h, w))
    return background
}

/** 3x3 erosion; outside the picture counts as foreground. */
private fun erode1(mask: BooleanArray, h: Int, w: Int): BooleanArray = BooleanArray(h * w) { i ->
    val y = i / w
    val x = i % w
    var keep = true
    for (dy in -1..1) for (dx in -1..1) {
        val yy = y + dy
        val xx = x + dx
        if (yy in 0 until h && xx in 0 until w && !mask[yy * w + xx]) keep = false
    }
    keep
}

/** Square (2r+1) dilation; outside the picture counts as background. */
private fun dilate(mask: BooleanArray, h: Int, w: Int, r: Int): BooleanArray {
    val rows = BooleanArray(h * w)
    for (y in 0 until h) for (x in 0 until w) {
        var any = false
        for (xx in maxOf(0, x - r)..minOf(w - 1, x + r)) if (mask[y * w + xx]) { any = true; break }
        rows[y * w + x] = any
    }
    val out = BooleanArray(h * w)
    for (y in 0 until h) for (x in 0 until w) {
        var any = false
        for (yy in maxOf(0, y - r)..minOf(h - 1, y + r)) if (rows[yy * w + x]) { any = true; break }
        out[y * w + x] = any
    }
    return out
}

/** top, left, bottom, right (exclusive ends) and the count of the pixels `inside` picks. */
private fun boxOf(h: Int, w: Int, inside: (Int) -> Boolean): IntArray {
    var count = 0
    var top = h; var bottom = 0; var left = w; var right = 0
    for (y in 0 until h) for (x in 0 until w) {
        if (inside(y * w + x)) {
            count++
            top = minOf(top, y); bottom = maxOf(bottom, y + 1)
            left = minOf(left, x); right = maxOf(right, x + 1)
        }
    }
    return intArrayOf(top, left, bottom, right, count)
}

/** The 8-connected region with the most sharp pixels (then the most pixels, then the first in raster order):
 *  runs per row joined with union-find. */
private fun garmentRegion(mask: BooleanArray, sharp: BooleanArray, h: Int, w: Int): BooleanArray {
    val runRow = ArrayList<Int>()
    val runStart = ArrayList<Int>()
    val runEnd = ArrayList<Int>()
    for (y in 0 until h) {
        var x = 0
        while (x < w) {
            if (mask[y * w + x]) {
                val s = x
                while (x < w && mask[y * w + x]) x++
                runRow.add(y); runStart.add(s); runEnd.add(x)
            } else {
                x++
            }
        }
    }
    val out = BooleanArray(h * w)
    if (runRow.isEmpty()) return out
    val parent = IntArray(runRow.size) { it }
    fun find(start: Int): Int {
        var i = start
        while (parent[i] != i) { parent[i] = parent[parent[i]]; i = parent[i] }
        return i
    }
    var previous = ArrayList<Int>()
    var current = ArrayList<Int>()
    var row = runRow[0]
    for (i in runRow.indices) {
        if (runRow[i] != row) {
            previous = if (runRow[i] == row + 1) current else ArrayList()
            current = ArrayList()
            row = runRow[i]
        }
        for (j in previous) {
            if (runStart[j] <= runEnd[i] && runStart[i] <= runEnd[j]) {  // touching, diagonals included
                val a = find(i)
                val b = find(j)
                if (a != b) parent[maxOf(a, b)] = minOf(a, b)
            }
        }
        current.add(i)
    }
    val sizes = HashMap<Int, Int>()
    val edges = HashMap<Int, Int>()
    for (i in runRow.indices) {
        sizes.merge(find(i), runEnd[i] - runStart[i], Int::plus)
        var sharpInRun = 0
        for (x in runStart[i] until runEnd[i]) if (sharp[runRow[i] * w + x]) sharpInRun++
        edges.merge(find(i), sharpInRun, Int::plus)
    }
    val best = sizes.keys.minWith(compareBy<Int>({ -edges.getValue(it) }, { -sizes.getValue(it) }, { it }))
    for (i in runRow.indices) if (find(i) == best) for (x in runStart[i] until runEnd[i]) out[runRow[i] * w + x] = true
    return out
}

private fun fitAndStretch(strength: DoubleArray, h: Int, w: Int, outH: Int, outW: Int): IntArray {
    val newH: Int
    val newW: Int
    if (h.toLong() * outW >= w.toLong() * outH) {
        newH = outH; newW = maxOf(1, ((2L * w * outH + h) / (2L * h)).toInt())
    } else {
        newH = maxOf(1, ((2L * h * outW + w) / (2L * w)).toInt()); newW = outW
    }
    val rowWeights = areaWeights(h, newH)
    val colWeights = areaWeights(w, newW)
    val tmp = DoubleArray(newH * w)  // rows first, then columns: as (A_h S) A_w^T
    for (i in 0 until newH) for (x in 0 until w) {
        var s = 0.0
        for (y in 0 until h) s += rowWeights[i * h + y] * strength[y * w + x]
        tmp[i * w + x] = s
    }
    val frame = DoubleArray(outH * outW)
    val top = (outH - newH) / 2
    val left = (outW - newW) / 2
    for (i in 0 until newH) for (j in 0 until newW) {
        var s = 0.0
        for (x in 0 until w) s += tmp[i * w + x] * colWeights[j * w + x]
        frame[(top + i) * outW + left + j] = s
    }
    // Sharpen (Fashion-MNIST's recipe does): the frame plus SHARPEN times its difference from a 3x3
    // binomial blur with edge pixels repeated, kept within [0, peak] of the unsharpened frame.
    val peak = frame.max()
    if (peak <= 0.0) return IntArray(outH * outW)
    val sharp = DoubleArray(outH * outW)
    val kernel = doubleArrayOf(1.0, 2.0, 1.0)
    for (y in 0 until outH) for (x in 0 until outW) {
        var total = 0.0
        for (dy in 0 until 3) for (dx in 0 until 3) {
            val yy = (y + dy - 1).coerceIn(0, outH - 1)
            val xx = (x + dx - 1).coerceIn(0, outW - 1)
            total += (kernel[dy] * kernel[dx]) * frame[yy * outW + xx]
        }
        val v = frame[y * outW + x]
        sharp[y * outW + x] = (v + SHARPEN * (v - total / 16.0)).coerceIn(0.0, peak)
    }
    val scale = 255.0 / peak
    return IntArray(outH * outW) { Math.floor(sharp[it] * scale + 0.5).toInt().coerceIn(0, 255) }
}

/** (nOut x nIn) area-averaging weights: output cell i covers input [i nIn / nOut, (i+1) nIn / nOut). */
private fun areaWeights(nIn: Int, nOut: Int): DoubleArray {
    val weights = DoubleArray(nOut * nIn)
    val cell = nIn.toDouble() / nOut
    for (i in 0 until nOut) {
        val start = (i.toLong() * nIn).toDouble() / nOut
        val end = ((i + 1).toLong() * nIn).toDouble() / nOut
        for (j in start.toInt() until minOf(nIn, Math.ceil(end).toInt())) {
            weights[i * nIn + j] = (minOf(end, (j + 1).toDouble()) - maxOf(start, j.toDouble())) / cell
        }
    }
    return weights
}
