// The closet: what was classified (label, thumbnail, date), kept across restarts in a DataStore
// (the list as JSON) with each thumbnail as a PNG in the app's private files.
package org.fmnistedge.closet

import android.content.Context
import android.graphics.Bitmap
import androidx.datastore.preferences.core.edit
import androidx.datastore.preferences.core.stringPreferencesKey
import androidx.datastore.preferences.preferencesDataStore
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.map
import org.json.JSONArray
import org.json.JSONObject
import java.io.File

data class ClosetItem(val label: String, val probability: Float, val timeMillis: Long, val thumbnail: File)

private val Context.closetData by preferencesDataStore(name = "closet")
private val ITEMS = stringPreferencesKey("items")

class ClosetStore(private val context: Context) {
    private val folder = File(context.filesDir, "closet").apply { mkdirs() }

    val items: Flow<List<ClosetItem>> = context.closetData.data.map { prefs -> decode(prefs[ITEMS] ?: "[]") }

    suspend fun add(label: String, probability: Float, picture: Bitmap) {
        val now = System.currentTimeMillis()
        // Written beside, then renamed: a crash never leaves a half-written thumbnail in the list.
        val file = File(folder, "$now.png")
        val partial = File(folder, "$now.png.partial")
        partial.outputStream().use { Pictures.thumbnail(picture).compress(Bitmap.CompressFormat.PNG, 100, it) }
        partial.renameTo(file)
        context.closetData.edit { prefs ->
            val list = JSONArray(prefs[ITEMS] ?: "[]")
            list.put(JSONObject().put("label", label).put("probability", probability.toDouble())
                .put("time", now).put("thumbnail", file.name))
            prefs[ITEMS] = list.toString()
        }
    }

    private fun decode(text: String): List<ClosetItem> {
        val list = JSONArray(text)
        return (0 until list.length()).map { list.getJSONObject(it) }.map {
            ClosetItem(it.getString("label"), it.getDouble("probability").toFloat(), it.getLong("time"),
                File(folder, it.getString("thumbnail")))
        }.sortedByDescending { it.timeMillis }
    }
}
