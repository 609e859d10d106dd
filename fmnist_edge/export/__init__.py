"""Export trained models for deployment: TFLite (with TFLite Model Metadata) and ONNX."""
