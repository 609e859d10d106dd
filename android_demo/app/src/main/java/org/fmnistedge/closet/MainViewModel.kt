// The app's state: the model (loaded once, off the main thread), the last result or message, and the closet.
package org.fmnistedge.closet

import android.app.Application
import android.graphics.Bitmap
import android.net.Uri
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** One classified picture as the screen shows it. */
class ResultView(val picture: Bitmap, val modelInput: Bitmap, val inverted: Boolean, val top: List<Guess>,
                 val inferenceMs: Double)

data class UiState(
    val modelStatus: String = "Loading the model...",
    val ready: Boolean = false,
    val busy: Boolean = false,
    val result: ResultView? = null,
    val message: String? = null,
)

class MainViewModel(application: Application) : AndroidViewModel(application) {
    private val store = ClosetStore(application)
    private val state = MutableStateFlow(UiState())
    val ui: StateFlow<UiState> = state.asStateFlow()
    val closet: StateFlow<List<ClosetItem>> =
        store.items.stateIn(viewModelScope, SharingStarted.WhileSubscribed(5_000), emptyList())
    private var classifier: ClosetClassifier? = null

    init {
        viewModelScope.launch {
            try {
                val loaded = withContext(Dispatchers.IO) { ClosetClassifier.load(getApplication()) }
                classifier = loaded
                state.update {
                    it.copy(ready = true, modelStatus = "${loaded.contract.modelFile}: ${loaded.labels.size} classes, " +
                        "${loaded.contract.width}x${loaded.contract.height} input")
                }
            } catch (e: ModelLoadException) {
                state.update { it.copy(modelStatus = "No model loaded.", message = "Could not load the model: ${e.message}") }
            }
        }
    }

    fun classifyPicked(uri: Uri) = classifyWith { Pictures.decode(getApplication(), uri) }

    fun classifyPhoto(photo: Bitmap) = classifyWith { photo }

    private fun classifyWith(picture: () -> Bitmap) {
        val model = classifier ?: return
        state.update { it.copy(busy = true, message = null) }
        viewModelScope.launch {
            try {
                val (bitmap, result) = withContext(Dispatchers.Default) {
                    val bitmap = picture()
                    bitmap to model.classify(Pictures.argb(bitmap), bitmap.width, bitmap.height)
                }
                val view = ResultView(bitmap, Pictures.modelInput(result.converted), result.converted.inverted,
                    result.top, result.inferenceMs)
                state.update { it.copy(busy = false, result = view) }
                withContext(Dispatchers.IO) { store.add(result.top[0].label, result.top[0].probability, bitmap) }
            } catch (e: NoGarmentException) {
                state.update { it.copy(busy = false, result = null, message = "${e.message}. Try a plain background.") }
            } catch (e: NotAPictureException) {
                state.update { it.copy(busy = false, result = null, message = e.message) }
            }
        }
    }

    fun showMessage(text: String) = state.update { it.copy(message = text) }

    override fun onCleared() {
        classifier?.close()
    }
}
