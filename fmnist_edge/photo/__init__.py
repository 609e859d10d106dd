"""Camera pictures, the closet app's input:

    conversion.py   a picture -> the 28x28 model input (docs/preprocessing.md; the Kotlin and JavaScript
                    ports are held to the same golden vectors)
    decode.py       reading what `predict` is given: picture files (size limits, EXIF rotation), .npz arrays
    render.py       deterministic synthetic camera pictures of test garments, for benchmarks/photos.py
"""
