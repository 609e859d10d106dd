"""Builder pieces every family shares."""
from __future__ import annotations


def classifier_head(x, num_classes: int):
    """Logits, then a softmax kept in float32: under the bf16/fp16 mixed-precision policy a half-precision
    softmax loses the small probabilities the loss needs, and the exported files' outputs are float32
    probabilities whatever the training precision. Layer names ("logits", "probs") are part of the
    saved models' format: keep them."""
    from .. import _tf

    layers = _tf.keras().layers
    logits = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", dtype="float32", name="probs")(logits)
