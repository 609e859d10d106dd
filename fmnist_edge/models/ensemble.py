"""Ensembles: several networks in one flat graph, their logits averaged.

An ensemble is named by its members: "ensemble:vgg-a+vgg-a+vgg198k". The image goes to every
member; member i's layers are renamed "m{i}_<layer>"; the members' logits, each scaled by 1/n,
are summed ("logits") and one float32 softmax ("probs") gives the ensemble's probabilities:
softmax of the mean logit. Summing (an Add layer) rather than averaging probabilities keeps every
layer one that tfmot's quantize_model and TFLite's int8 kernels take, so an ensemble quantizes,
exports and benchmarks like any zoo model. The graph is flat (no nested models) for the same
reason.

    model = build_model("ensemble:vgg-a+vgg-t")             # untrained, as training would start it
    model = ensemble_of(trained_models, "ensemble:vgg-a+vgg-t")  # the members' own weights

`fmnist-edge ensemble RUN RUN ...` (ensembling.py) builds one from trained runs.
"""
from __future__ import annotations

# The names are the registry's: it parses them, this module builds the graphs.
from .registry import ENSEMBLE_PREFIX, MAX_MEMBERS, MEMBER_SEPARATOR, build_model, ensemble_members, ensemble_name, is_ensemble, keras_name, register_ensemble_builder


def ensemble_of(members, name: str):
    """One flat graph from built (or trained) member models, their weights copied: softmax of the mean logit.

    Every member must end in the zoo's classifier head (a Dense layer "logits", then "probs").
    """
    from .. import _tf

    keras = _tf.keras()
    image = keras.Input(shape=members[0].input_shape[1:], name="image")
    scaled_logits = []
    for i, member in enumerate(members):
        def renamed(layer, i=i):
            return layer.__class__.from_config({**layer.get_config(), "name": f"m{i}_{layer.name}"})

        clone = keras.models.clone_model(member, input_tensors=image, clone_function=renamed)
        clone.set_weights(member.get_weights())
        logits = clone.get_layer(f"m{i}_logits")
        kernel, bias = logits.get_weights()
        logits.set_weights([kernel / len(members), bias / len(members)])  # the sum below is the mean
        scaled_logits.append(logits.output)
    summed = keras.layers.Add(name="logits")(scaled_logits)
    probs = keras.layers.Activation("softmax", dtype="float32", name="probs")(summed)
    return keras.Model(image, probs, name=keras_name(name))


def build_ensemble(name: str, input_shape: tuple, num_classes: int):
    """A fresh, untrained ensemble: each member as build_model makes it."""
    members = ensemble_members(name)
    return ensemble_of([build_model(member, input_shape, num_classes) for member in members], ensemble_name(members))


register_ensemble_builder(build_ensemble)
