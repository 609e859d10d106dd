// Runs ModelContract.parse, the app's reading of model.json, on the JVM (no Android needed; org.json from
// Debian's libandroid-json-java, Android's own implementation of it):
//   kotlinc ModelContract.kt ModelContractCheck.kt -cp com.android.json.jar -include-runtime -d contract.jar
//   java -cp contract.jar:com.android.json.jar org.fmnistedge.closet.ModelContractCheckKt model.json...
// Prints one line per file: the model file the app would load and its contract, or "refused: " and the
// reason; tests/test_android_demo.py compares them with fmnist_edge.demo.page_model, the page's rule.
package org.fmnistedge.closet

import java.io.File

fun main(args: Array<String>) {
    for (path in args) {
        val line = try {
            val c = ModelContract.parse(File(path).readText())
            "${c.modelFile} ${c.height}x${c.width} in ${c.inputScale} ${c.inputZeroPoint} " +
                "out ${c.outputScale} ${c.outputZeroPoint} classes ${c.classes}"
        } catch (e: IllegalArgumentException) {
            "refused: ${e.message}"
        }
        println(line)
    }
}
