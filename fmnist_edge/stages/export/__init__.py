"""Export: deployable files (TFLite with metadata, ONNX, SavedModel), each checked against its source."""
from .formats import FORMATS, ExportCheckError, Exported, ExportFormat, export

__all__ = ["FORMATS", "ExportCheckError", "ExportFormat", "Exported", "export"]
