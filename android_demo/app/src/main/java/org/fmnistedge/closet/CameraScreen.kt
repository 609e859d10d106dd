// Taking the photo: a CameraX preview (LifecycleCameraController + PreviewView) and one still capture,
// turned upright by the rotation CameraX reports.
package org.fmnistedge.closet

import android.graphics.Bitmap
import androidx.camera.core.ImageCapture
import androidx.camera.core.ImageCaptureException
import androidx.camera.core.ImageProxy
import androidx.camera.view.LifecycleCameraController
import androidx.camera.view.PreviewView
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner

@Composable
fun CameraScreen(onPhoto: (Bitmap) -> Unit, onError: (String) -> Unit) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val controller = remember {
        LifecycleCameraController(context).apply {
            setEnabledUseCases(LifecycleCameraController.IMAGE_CAPTURE)
            bindToLifecycle(lifecycleOwner)
        }
    }
    Box(Modifier.fillMaxSize()) {
        AndroidView(factory = { PreviewView(it).apply { this.controller = controller } }, modifier = Modifier.fillMaxSize())
        Button(
            onClick = {
                controller.takePicture(ContextCompat.getMainExecutor(context), object : ImageCapture.OnImageCapturedCallback() {
                    override fun onCaptureSuccess(image: ImageProxy) {
                        val upright = Pictures.rotate(image.toBitmap(), image.imageInfo.rotationDegrees)
                        image.close()
                        onPhoto(upright)
                    }

                    override fun onError(exception: ImageCaptureException) {
                        onError("The camera could not take the photo (${exception.message}).")
                    }
                })
            },
            modifier = Modifier.align(Alignment.BottomCenter).padding(24.dp),
        ) { Text("Take the photo") }
    }
}
