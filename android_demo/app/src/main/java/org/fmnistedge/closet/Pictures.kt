// Pictures from the photo picker or the camera -> ARGB pixels for PhotoConversion.kt, and the bitmaps
// the screens show.
package org.fmnistedge.closet

import android.content.Context
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Matrix
import android.net.Uri
import androidx.exifinterface.media.ExifInterface

/** The file is not a picture Android can decode. */
class NotAPictureException(message: String) : Exception(message)

object Pictures {
    /**
     * A picked picture, upright (EXIF orientation applied). A large one is decoded at a reduced scale, as
     * `fmnist-edge predict` does: never below twice the conversion's working size (WORK_SHORT_SIDE).
     */
    fun decode(context: Context, uri: Uri): Bitmap {
        val resolver = context.contentResolver
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            throw NotAPictureException("That file is not a picture this phone can read.")
        }
        var sample = 1
        while (minOf(bounds.outWidth, bounds.outHeight) / (sample * 2) >= 2 * WORK_SHORT_SIDE) sample *= 2
        val options = BitmapFactory.Options().apply {
            inSampleSize = sample
            inPreferredConfig = Bitmap.Config.ARGB_8888
        }
        val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw NotAPictureException("That file is not a picture this phone can read.")
        val degrees = resolver.openInputStream(uri)?.use { ExifInterface(it).rotationDegrees } ?: 0
        return rotate(bitmap, degrees)
    }

    fun rotate(bitmap: Bitmap, degrees: Int): Bitmap {
        if (degrees == 0) return bitmap
        val matrix = Matrix().apply { postRotate(degrees.toFloat()) }
        return Bitmap.createBitmap(bitmap, 0, 0, bitmap.width, bitmap.height, matrix, true)
    }

    /** ARGB_8888 pixels, row-major: PhotoConversion.kt's input. */
    fun argb(bitmap: Bitmap): IntArray {
        val pixels = IntArray(bitmap.width * bitmap.height)
        bitmap.copy(Bitmap.Config.ARGB_8888, false).getPixels(pixels, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
        return pixels
    }

    /** The model's input as a grey bitmap, to show what the model saw. */
    fun modelInput(converted: Converted): Bitmap {
        val pixels = IntArray(converted.image.size) { i ->
            val v = converted.image[i]
            (0xFF shl 24) or (v shl 16) or (v shl 8) or v
        }
        return Bitmap.createBitmap(pixels, converted.width, converted.height, Bitmap.Config.ARGB_8888)
    }

    /** A small copy for the closet list. */
    fun thumbnail(bitmap: Bitmap, longSide: Int = 256): Bitmap {
        val scale = longSide.toFloat() / maxOf(bitmap.width, bitmap.height)
        if (scale >= 1f) return bitmap
        return Bitmap.createScaledBitmap(bitmap, (bitmap.width * scale).toInt().coerceAtLeast(1),
            (bitmap.height * scale).toInt().coerceAtLeast(1), true)
    }
}
