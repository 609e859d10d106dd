// The screens (Jetpack Compose): take a photo (CameraX) or pick one (the system photo picker), see the
// 28x28 input the model received, the top three labels and the inference time, and the closet so far.
package org.fmnistedge.closet

import android.Manifest
import android.graphics.BitmapFactory
import android.os.Bundle
import android.text.format.DateFormat
import androidx.activity.ComponentActivity
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.compose.setContent
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.FilterQuality
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import java.util.Date

class MainActivity : ComponentActivity() {
    private val viewModel: MainViewModel by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { MaterialTheme { ClosetApp(viewModel) } }
    }
}

@Composable
fun ClosetApp(viewModel: MainViewModel) {
    val ui by viewModel.ui.collectAsStateWithLifecycle()
    val closet by viewModel.closet.collectAsStateWithLifecycle()
    var camera by remember { mutableStateOf(false) }
    val pick = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) viewModel.classifyPicked(uri)
    }
    val askCamera = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) camera = true else viewModel.showMessage("Without the camera permission, pick a photo instead.")
    }

    if (camera) {
        CameraScreen(
            onPhoto = { camera = false; viewModel.classifyPhoto(it) },
            onError = { camera = false; viewModel.showMessage(it) },
        )
        return
    }
    Column(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Closet", style = MaterialTheme.typography.headlineMedium)
        Text(ui.modelStatus, style = MaterialTheme.typography.bodySmall)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button(onClick = { askCamera.launch(Manifest.permission.CAMERA) }, enabled = ui.ready && !ui.busy) {
                Text("Take a photo")
            }
            Button(
                onClick = { pick.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                enabled = ui.ready && !ui.busy,
            ) { Text("Pick a photo") }
        }
        if (ui.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ui.message?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        ui.result?.let { ResultCard(it) }
        Text("In the closet", style = MaterialTheme.typography.titleMedium)
        LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp)) {
            items(closet, key = { it.timeMillis }) { ClosetRow(it) }
        }
    }
}

@Composable
fun ResultCard(result: ResultView) {
    Card(Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), horizontalArrangement = Arrangement.spacedBy(12.dp)) {
            Image(result.picture.asImageBitmap(), "your photo", Modifier.size(112.dp), contentScale = ContentScale.Crop)
            Column(horizontalAlignment = Alignment.CenterHorizontally) {
                // Nearest-neighbour scaling: the model's 28x28 pixels, not a blurred guess at them.
                Image(result.modelInput.asImageBitmap(), "what the model saw", Modifier.size(112.dp),
                    filterQuality = FilterQuality.None)
                Text(if (result.inverted) "model input (negated)" else "model input",
                    style = MaterialTheme.typography.labelSmall)
            }
            Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
                result.top.forEachIndexed { rank, guess ->
                    Text("${guess.label} ${"%.1f".format(100 * guess.probability)}%",
                        style = if (rank == 0) MaterialTheme.typography.titleMedium else MaterialTheme.typography.bodyMedium)
                    LinearProgressIndicator(progress = { guess.probability }, modifier = Modifier.fillMaxWidth())
                }
                Text("inference ${"%.2f".format(result.inferenceMs)} ms", style = MaterialTheme.typography.labelSmall)
            }
        }
    }
}

@Composable
fun ClosetRow(item: ClosetItem) {
    val thumbnail = remember(item.thumbnail) { BitmapFactory.decodeFile(item.thumbnail.path)?.asImageBitmap() }
    Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(12.dp)) {
        if (thumbnail != null) Image(thumbnail, item.label, Modifier.size(48.dp), contentScale = ContentScale.Crop)
        Column {
            Text(item.label, style = MaterialTheme.typography.bodyLarge)
            Text(DateFormat.format("yyyy-MM-dd HH:mm", Date(item.timeMillis)).toString() +
                "  ${"%.0f".format(100 * item.probability)}%", style = MaterialTheme.typography.labelSmall)
        }
    }
}
