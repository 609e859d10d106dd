"""Model files: making them, reading them, running them.

    contract.py     the uint8 -> float rule every model input follows, and how scores are read
    conversion.py   Keras -> .tflite (float, fp16, int8) and .onnx
    metadata.py     the TFLite metadata Android tools read (labels, normalisation), written and read back
    inspection.py   a .tflite's ops and MACs from its flatbuffer
    runtime.py      a .tflite in LiteRT, an .onnx in onnxruntime, behind one predict(uint8 images)

runtime, metadata, inspection and contract never import TensorFlow: a deploy-only install runs them.
"""
