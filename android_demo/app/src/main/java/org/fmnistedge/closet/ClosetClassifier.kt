// The model on the phone: LiteRT's CompiledModel API on the CPU, labels from the model file's own
// metadata, the input contract from model.json (ModelContract.kt).
package org.fmnistedge.closet

import android.content.Context
import android.os.SystemClock
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import org.tensorflow.lite.support.common.FileUtil
import org.tensorflow.lite.support.metadata.MetadataExtractor
import org.tensorflow.lite.support.metadata.schema.AssociatedFileType
import java.io.Closeable
import java.io.FileNotFoundException

/** One label and its probability. */
data class Guess(val label: String, val probability: Float)

/** What one picture gave: the model's input, its top three guesses and the inference time. */
class Classification(val converted: Converted, val top: List<Guess>, val inferenceMs: Double)

/** The model could not be loaded: which file, and why. */
class ModelLoadException(message: String) : Exception(message)

class ClosetClassifier private constructor(
    private val model: CompiledModel,
    val contract: ModelContract,
    val labels: List<String>,
) : Closeable {

    /** Converts an ARGB picture (docs/preprocessing.md) and classifies it. Throws NoGarmentException. */
    fun classify(argb: IntArray, width: Int, height: Int): Classification {
        val converted = toModelInput(argb, width, height, contract.height, contract.width)
        val inputs = model.createInputBuffers()
        val outputs = model.createOutputBuffers()
        try {
            val start = SystemClock.elapsedRealtimeNanos()
            inputs[0].writeInt8(contract.quantize(converted.image))
            model.run(inputs, outputs)
            val probabilities = contract.dequantize(outputs[0].readInt8())
            val ms = (SystemClock.elapsedRealtimeNanos() - start) / 1e6
            val top = probabilities.indices.sortedByDescending { probabilities[it] }.take(3)
                .map { Guess(labels[it], probabilities[it]) }
            return Classification(converted, top, ms)
        } finally {
            inputs.forEach { it.close() }
            outputs.forEach { it.close() }
        }
    }

    override fun close() = model.close()

    companion object {
        const val CONTRACT_ASSET = "model.json"

        fun load(context: Context): ClosetClassifier {
            val contract = try {
                ModelContract.parse(context.assets.open(CONTRACT_ASSET).bufferedReader().use { it.readText() })
            } catch (e: FileNotFoundException) {
                throw ModelLoadException("$CONTRACT_ASSET is missing from the app's assets: run fmnist-edge export ... --android android_demo")
            } catch (e: Exception) {
                throw ModelLoadException("$CONTRACT_ASSET: ${e.message}")
            }
            val file = contract.modelFile
            val labels = try {
                labelsFromMetadata(MetadataExtractor(FileUtil.loadMappedFile(context, file)))
            } catch (e: FileNotFoundException) {
                throw ModelLoadException("$file is missing from the app's assets")
            } catch (e: Exception) {
                throw ModelLoadException("$file: no labels in its metadata (${e.message})")
            }
            if (labels.size != contract.classes) {
                throw ModelLoadException("$file: ${labels.size} labels for ${contract.classes} outputs")
            }
            val model = try {
                CompiledModel.create(context.assets, file, CompiledModel.Options(Accelerator.CPU))
            } catch (e: Exception) {
                throw ModelLoadException("$file: LiteRT could not load it (${e.message})")
            }
            return ClosetClassifier(model, contract, labels)
        }

        /**
         * The labels file packed into the model, found by the name the metadata gives for the output
         * tensor's TENSOR_AXIS_LABELS file (not a hard-coded file name).
         */
        fun labelsFromMetadata(extractor: MetadataExtractor): List<String> {
            require(extractor.hasMetadata()) { "the file has no TFLite metadata" }
            val output = extractor.getOutputTensorMetadata(0)
            val name = (0 until output.associatedFilesLength()).map { output.associatedFiles(it) }
                .firstOrNull { it.type() == AssociatedFileType.TENSOR_AXIS_LABELS }?.name()
                ?: throw IllegalArgumentException("the output tensor names no labels file")
            return extractor.getAssociatedFile(name).bufferedReader().use { reader ->
                reader.readLines().filter { it.isNotBlank() }
            }
        }
    }
}
