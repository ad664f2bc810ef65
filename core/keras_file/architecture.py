"""A `.keras` file's config.json, read as plain JSON and accepted only if it describes a Sequential MLP this app
could have built: the file's description is only ever data, never handed to Keras (core.keras_file.reading
says why)."""

from __future__ import annotations

import json
import re

import numpy as np

from core.config import ACTIVATIONS, IMAGE_SIZE, MAX_LAYERS, NUM_CLASSES, ConfigError, TrainConfig
from core.keras_file.errors import ModelImportError

ALLOWED_LAYERS = ("InputLayer", "Flatten", "Dense", "Dropout")
# Input, Flatten, then a Dense and a Dropout per hidden layer, then the output Dense.
MAX_KERAS_LAYERS = 2 + 2 * MAX_LAYERS + 1
CONFIG_MAX_DEPTH = 32  # Keras nests about 7 levels; json.loads recurses, so depth is checked first

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _json_depth(text: bytes) -> int:
    """How deeply brackets nest, outside strings, without recursion (an unclosed string only overcounts)."""
    codes = np.frombuffer(_JSON_STRING.sub(b"", text), dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64) - np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def parse_config_json(raw: bytes | memoryview) -> object:
    """config.json as data, once its nesting is known to be shallow."""
    raw = bytes(raw)
    if _json_depth(raw) > CONFIG_MAX_DEPTH:
        raise ModelImportError(
            f"The model description (config.json) nests more than {CONFIG_MAX_DEPTH} levels "
            "deep; Keras writes about 7, so this is not a Keras model."
        )
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ModelImportError(
            "The model description (config.json) is not valid JSON, so the file is damaged or was not saved by Keras."
        ) from error


_KIND_NAMES = {
    dict: "an object",
    list: "a list",
    str: "text",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    type(None): "null",
}


def _type_name(value: object) -> str:
    return _KIND_NAMES.get(type(value), type(value).__name__)


def _get(mapping: dict, key: str, kinds: tuple[type, ...], where: str, optional: bool = False) -> object:
    """mapping[key] if it has the JSON type Keras writes there, else a ModelImportError naming both.

    A missing optional key gives None; true and false never pass for numbers (in Python they are ints).
    """
    if key not in mapping:
        if optional:
            return None
        raise ModelImportError(f"The model description is malformed: {where} has no {key!r}.")
    value = mapping[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = "a number" if float in kinds else " or ".join(_KIND_NAMES[kind] for kind in kinds)
        raise ModelImportError(
            f"The model description is malformed: {where} has {key!r} as {_type_name(value)}, "
            f"where Keras writes {wanted}."
        )
    return value


def _layers(model_config: object) -> list[tuple[str, dict]]:
    """(class name, settings) of each layer of a Sequential model config."""
    if not isinstance(model_config, dict):
        raise ModelImportError(f"The model description is {_type_name(model_config)}, not a Keras model.")
    kind = _get(model_config, "class_name", (str,), "the model")
    if kind != "Sequential":
        raise ModelImportError(
            f"Only the networks this app builds can be imported: a Sequential model (this file holds a {kind[:40]})."
        )
    layers = _get(_get(model_config, "config", (dict,), "the model"), "layers", (list,), "the model")
    if len(layers) > MAX_KERAS_LAYERS:
        raise ModelImportError(
            f"This model has {len(layers):,} layers; the app's networks have at most "
            f"{MAX_KERAS_LAYERS}, so it cannot be imported."
        )
    found = []
    for number, layer in enumerate(layers, start=1):
        if not isinstance(layer, dict):
            raise ModelImportError(f"The model description is malformed: layer {number} is {_type_name(layer)}.")
        kind = _get(layer, "class_name", (str,), f"layer {number}")
        if kind not in ALLOWED_LAYERS:
            raise ModelImportError(
                f"This model has a {kind[:40]} layer; only Dense and Dropout layers after a "
                "28x28 input are accepted, so it cannot be imported."
            )
        found.append((kind, _get(layer, "config", (dict,), f"layer {number} ({kind})")))
    return found


def _check_input(layers: list[tuple[str, dict]]) -> None:
    kind, settings = layers[0] if layers else ("none", {})
    shape = settings.get("batch_shape") if kind == "InputLayer" else "unknown"
    reads_images = (
        isinstance(shape, list)
        and len(shape) == 3
        and all(type(side) is int and side == IMAGE_SIZE for side in shape[1:])
    )
    if not reads_images:
        shown = json.dumps(shape)[:60] if kind == "InputLayer" else "unknown"
        raise ModelImportError(f"This model does not read 28x28 images (its input is {shown}).")
    if len(layers) < 2 or layers[1][0] != "Flatten":
        raise ModelImportError("This model does not flatten the image first, as the app's networks do.")


def _dense(settings: dict, number: int) -> tuple[int, str]:
    where = f"layer {number} (Dense)"
    units = _get(settings, "units", (int,), where)
    activation = _get(settings, "activation", (str,), where)
    if _get(settings, "use_bias", (bool,), where, optional=True) is False:
        raise ModelImportError(f"{where} has no bias; the app's layers all have one.")
    return units, activation


def config_from_keras(model_config: object) -> TrainConfig:
    """The TrainConfig of a Keras model config, if it is an MLP this app could have built."""
    layers = _layers(model_config)
    _check_input(layers)
    dense = [_dense(settings, n) for n, (kind, settings) in enumerate(layers, start=1) if kind == "Dense"]
    rates = {
        _get(settings, "rate", (int, float), f"layer {n} (Dropout)")
        for n, (kind, settings) in enumerate(layers, start=1)
        if kind == "Dropout"
    }
    if len(dense) < 2:
        raise ModelImportError("This model has no hidden layer.")
    units, activation = dense[-1]
    if units != NUM_CLASSES or activation != "softmax" or layers[-1][0] != "Dense":
        raise ModelImportError(
            f"This model does not end in 10 softmax outputs, one per digit (it ends in "
            f"{units} {activation[:20]} units)."
        )
    activations = {activation for _, activation in dense[:-1]}
    if len(activations) != 1 or not activations <= set(ACTIVATIONS):
        shown = ", ".join(sorted(a[:20] for a in activations))
        raise ModelImportError(
            f"Hidden layers must share one activation out of {', '.join(ACTIVATIONS)} (this model uses {shown})."
        )
    if len(rates) > 1:
        raise ModelImportError("This model uses different dropout rates per layer; the app uses one rate.")
    try:
        return TrainConfig(
            hidden_layers=tuple(units for units, _ in dense[:-1]),
            dropout=float(rates.pop()) if rates else 0.0,
            activation=activations.pop(),
        )
    except (ConfigError, OverflowError) as error:
        message = error.message if isinstance(error, ConfigError) else "a dropout rate is out of range."
        raise ModelImportError(f"This model is outside the app's limits: {message[:300]}") from error
