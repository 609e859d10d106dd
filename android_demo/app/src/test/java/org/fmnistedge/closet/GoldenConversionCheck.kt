// Holds PhotoConversion.kt to the golden vectors of docs/preprocessing.md, on the JVM (no Android needed):
//   kotlinc PhotoConversion.kt GoldenConversionCheck.kt -include-runtime -d check.jar
//   java -cp check.jar org.fmnistedge.closet.GoldenConversionCheckKt tests/golden/preprocess
// Every picture with a NAME.expected.txt must convert to it within one grey level on every pixel;
// every picture without one must be refused as "no garment". Exit 1 on any mismatch.
package org.fmnistedge.closet

import java.io.File
import javax.imageio.ImageIO
import kotlin.system.exitProcess

/** A PNG as ARGB pixels, read from the raster so that grey PNGs keep their exact levels. */
fun readArgb(file: File): Triple<IntArray, Int, Int> {
    val image = ImageIO.read(file) ?: error("$file: not a readable picture")
    val w = image.width
    val h = image.height
    val raster = image.raster
    val bands = raster.numBands
    val argb = IntArray(w * h)
    val sample = IntArray(bands)
    for (y in 0 until h) for (x in 0 until w) {
        raster.getPixel(x, y, sample)
        argb[y * w + x] = when (bands) {
            1 -> (0xFF shl 24) or (sample[0] shl 16) or (sample[0] shl 8) or sample[0]
            2 -> (sample[1] shl 24) or (sample[0] shl 16) or (sample[0] shl 8) or sample[0]
            3 -> (0xFF shl 24) or (sample[0] shl 16) or (sample[1] shl 8) or sample[2]
            else -> (sample[3] shl 24) or (sample[0] shl 16) or (sample[1] shl 8) or sample[2]
        }
    }
    return Triple(argb, w, h)
}

fun main(args: Array<String>) {
    val folder = File(args.getOrElse(0) { "tests/golden/preprocess" })
    val pictures = folder.listFiles { f -> f.name.endsWith(".png") }?.sortedBy { it.name }
        ?: error("$folder: no such folder")
    var passed = 0
    var failed = 0
    var exact = 0
    for (picture in pictures) {
        val expectedFile = File(folder, picture.name.removeSuffix(".png") + ".expected.txt")
        val (argb, w, h) = readArgb(picture)
        val problem: String? = try {
            val converted = toModelInput(argb, w, h)
            if (!expectedFile.exists()) {
                "converted, but the spec finds no garment in it"
            } else {
                val expected = expectedFile.readLines().filter { it.isNotBlank() }
                    .flatMap { line -> line.trim().split(Regex("\\s+")).map(String::toInt) }
                if (expected.size != converted.image.size) {
                    "size ${converted.image.size}, expected ${expected.size}"
                } else {
                    val worst = expected.indices.maxOf { Math.abs(expected[it] - converted.image[it]) }
                    if (worst == 0) exact++
                    if (worst > 1) "differs by up to $worst grey levels" else null
                }
            }
        } catch (e: NoGarmentException) {
            if (expectedFile.exists()) "refused (${e.message}), but the spec converts it" else null
        }
        if (problem == null) passed++ else { failed++; println("FAIL ${picture.name}: $problem") }
    }
    println("kotlin conversion: $exact of ${pictures.size} golden pictures byte-identical")
    println("$passed passed, $failed failed")
    if (failed > 0 || passed == 0) exitProcess(1)
}
