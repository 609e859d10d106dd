// What the app must know to feed the model, read from the export's model.json (copied into the
// assets by `fmnist-edge export RUN --format tflite-int8 --format tflite-int8-b1 --format tflite-int8-mirror-b1
// --android android_demo`),
// never from constants here: which file to load, the input size, the input and output quantization and
// the polarity the conversion must produce.
package org.fmnistedge.closet

import org.json.JSONObject

/** The Fashion-MNIST polarity that PhotoConversion.kt produces (and the only one it can). */
const val FASHION_POLARITY = "light garment on a dark background"

class ModelContract(
    val modelFile: String,
    val height: Int,
    val width: Int,
    val inputScale: Double,
    val inputZeroPoint: Int,
    val outputScale: Double,
    val outputZeroPoint: Int,
    val classes: Int,
) {
    /** The model's uint8 input for one converted picture (grey levels 0..255, row-major). */
    fun quantize(pixels: IntArray): ByteArray = ByteArray(pixels.size) { i ->
        val q = Math.round(pixels[i] / 255.0 / inputScale + inputZeroPoint).toInt().coerceIn(0, 255)
        q.toByte()
    }

    /** Probabilities from the model's uint8 output (LiteRT hands uint8 over as signed bytes). */
    fun dequantize(raw: ByteArray): FloatArray =
        FloatArray(raw.size) { i -> (((raw[i].toInt() and 0xFF) - outputZeroPoint) * outputScale).toFloat() }

    companion object {
        /**
         * The contract of the batch-1 integer file in `modelJson` (the app's CompiledModel, like LiteRT.js,
         * wants a fixed batch); of several, the one that looks at each picture most often ("views": 2, a
         * mirror file: each picture and its left-right mirror, scores averaged), the first listed on a tie:
         * the rule the web page and `fmnist_edge.demo.page_model` follow. Throws IllegalArgumentException
         * naming what is missing or unusable.
         */
        fun parse(modelJson: String): ModelContract {
            val record = JSONObject(modelJson)
            val polarity = record.getJSONObject("input").getString("polarity")
            require(polarity == FASHION_POLARITY) { "the model expects \"$polarity\", the conversion gives \"$FASHION_POLARITY\"" }
            val formats = record.getJSONObject("formats")
            var best: JSONObject? = null
            for (name in formats.keys()) {
                val entry = formats.getJSONObject(name)
                val input = entry.optJSONObject("io")?.getJSONObject("input") ?: continue
                if (input.getString("dtype") != "uint8" || input.getJSONArray("shape").getInt(0) != 1) continue
                if (best == null || entry.optInt("views", 1) > best.optInt("views", 1)) best = entry
            }
            val chosen = best
                ?: throw IllegalArgumentException("model.json lists no uint8 model with batch 1 (export --format tflite-int8-b1)")
            val io = chosen.getJSONObject("io")
            val input = io.getJSONObject("input")
            val output = io.getJSONObject("output")
            val shape = input.getJSONArray("shape")
            require(shape.length() == 4 && shape.getInt(3) == 1) { "${chosen.getString("file")}: input $shape is not [1, H, W, 1]" }
            val inQuant = input.getJSONArray("quantization")
            val outQuant = output.getJSONArray("quantization")
            return ModelContract(
                modelFile = chosen.getString("file"),
                height = shape.getInt(1), width = shape.getInt(2),
                inputScale = inQuant.getDouble(0), inputZeroPoint = inQuant.getInt(1),
                outputScale = outQuant.getDouble(0), outputZeroPoint = outQuant.getInt(1),
                classes = output.getJSONArray("shape").getInt(1),
            )
        }
    }
}
