"""Import a `.keras` file someone uploads, without ever letting Keras deserialise it.

`keras.models.load_model` on untrusted bytes has been a code-execution hole
more than once (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906, CVE-2026-1462),
safe_mode or not. So the archive is read as data: `config.json` as plain JSON,
accepted only if it describes a Sequential MLP this app could have built;
the model is rebuilt with our own builder; only the Dense weight arrays are
read from `model.weights.h5` (h5py, numbers only) and set by shape.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import zipfile

import numpy as np

from core.config import ACTIVATIONS, ConfigError, TrainConfig
from core.data import IMAGE_SIZE, NUM_CLASSES
from core.store import COMPLETED, RunStore

MAX_UPLOAD_MB_ENV = "MNIST_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 32
ALLOWED_LAYERS = ("InputLayer", "Flatten", "Dense", "Dropout")
_DENSE_GROUP = re.compile(r"^dense(?:_(\d+))?$")


class ModelImportError(ValueError):
    """The file is not a model this app can take; the message says why, for the person who uploaded it."""


def max_upload_bytes() -> int:
    return int(float(os.environ.get(MAX_UPLOAD_MB_ENV, DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024)


def read_archive(data: bytes) -> tuple[dict, bytes]:
    """(config.json as data, model.weights.h5 bytes) from a .keras archive, or ModelImportError."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise ModelImportError(f"The file is {len(data) / 2**20:.1f} MB; models up to {limit / 2**20:.0f} MB "
                               "are accepted. (The largest model this app builds is well under that.)")
    if not data.startswith(b"PK"):
        raise ModelImportError("This is not a .keras model file: a .keras file is a zip archive, and this is not one.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            missing = {"config.json", "model.weights.h5"} - names
            if missing:
                raise ModelImportError(f"This archive is not a Keras model: it has no {', '.join(sorted(missing))}.")
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError) as error:
        if isinstance(error, ModelImportError):
            raise
        raise ModelImportError("The file is damaged (perhaps cut short while downloading); "
                               "download it again.") from error
    return config, weights


def config_from_keras(model_config: dict) -> TrainConfig:
    """The TrainConfig of a Keras model config, if it is an MLP this app could have built."""
    if not isinstance(model_config, dict) or model_config.get("class_name") != "Sequential":
        kind = model_config.get("class_name") if isinstance(model_config, dict) else type(model_config).__name__
        raise ModelImportError(f"Only the networks this app builds can be imported: a Sequential model "
                               f"(this file holds a {kind}).")
    layers = (model_config.get("config") or {}).get("layers") or []
    for layer in layers:
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        if kind not in ALLOWED_LAYERS:
            raise ModelImportError(f"This model has a {kind} layer; only Dense and Dropout layers after a "
                                   "28x28 input are accepted, so it cannot be imported.")
    settings = [layer.get("config") or {} for layer in layers]
    kinds = [layer["class_name"] for layer in layers]
    if not kinds or kinds[0] != "InputLayer" or list(settings[0].get("batch_shape") or [])[1:] != [IMAGE_SIZE] * 2:
        shape = settings[0].get("batch_shape") if kinds and kinds[0] == "InputLayer" else "unknown"
        raise ModelImportError(f"This model does not read 28x28 images (its input is {shape}).")
    if kinds[1:2] != ["Flatten"]:
        raise ModelImportError("This model does not flatten the image first, as the app's networks do.")
    dense = [s for k, s in zip(kinds, settings) if k == "Dense"]
    rates = {float(s.get("rate", 0)) for k, s in zip(kinds, settings) if k == "Dropout"}
    if len(dense) < 2:
        raise ModelImportError("This model has no hidden layer.")
    output = dense[-1]
    if output.get("units") != NUM_CLASSES or output.get("activation") != "softmax" or kinds[-1] != "Dense":
        raise ModelImportError(f"This model does not end in 10 softmax outputs, one per digit (it ends in "
                               f"{output.get('units')} {output.get('activation')} units).")
    activations = {s.get("activation") for s in dense[:-1]}
    if len(activations) != 1 or not activations <= set(ACTIVATIONS):
        raise ModelImportError(f"Hidden layers must share one activation out of {', '.join(ACTIVATIONS)} "
                               f"(this model uses {', '.join(map(str, sorted(activations, key=str)))}).")
    if len(rates) > 1:
        raise ModelImportError("This model uses different dropout rates per layer; the app uses one rate.")
    try:
        return TrainConfig(hidden_layers=tuple(s.get("units") for s in dense[:-1]),
                           dropout=rates.pop() if rates else 0.0, activation=activations.pop())
    except ConfigError as error:
        raise ModelImportError(f"This model is outside the app's limits: {error.message}") from error


def read_dense_weights(weights: bytes) -> list[np.ndarray]:
    """Kernel and bias of every Dense layer, in order, as plain arrays (nothing else is read)."""
    import h5py

    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            groups = sorted((int(m.group(1) or 0), name) for name in h5.get("layers", {})
                            if (m := _DENSE_GROUP.match(name)))
            arrays = []
            for _, name in groups:
                variables = h5[f"layers/{name}/vars"]
                arrays += [np.asarray(variables[key], dtype=np.float32) for key in sorted(variables, key=int)]
    except (OSError, KeyError, ValueError) as error:
        raise ModelImportError("The model's weights are damaged or not in Keras's format.") from error
    return arrays


def build_from_archive(data: bytes):
    """(TrainConfig, a Keras model built by our builder holding the file's weights)."""
    from core.model import build_model

    model_config, weights = read_archive(data)
    config = config_from_keras(model_config)
    arrays = read_dense_weights(weights)
    model = build_model(config)
    expected = [tuple(w.shape) for w in model.get_weights()]
    if [a.shape for a in arrays] != expected:
        raise ModelImportError("The model's weights do not match its own description, so it cannot be used.")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ModelImportError("The model's weights contain invalid numbers (NaN or infinity).")
    model.set_weights(arrays)
    return config, model


def import_model(data: bytes, filename: str, store: RunStore) -> str:
    """Check, rebuild and evaluate an uploaded model, and store it as a new completed run.

    Returns the run id. On any refusal (ModelImportError) nothing is stored.
    """
    from core.data import bundled_mnist, to_float
    from core.evaluation import test_report
    from core.model import count_parameters

    config, model = build_from_archive(data)
    arrays = bundled_mnist()
    probabilities = np.asarray(model.predict(to_float(arrays["x_test"]), batch_size=2048, verbose=0))
    picked = probabilities[np.arange(len(arrays["y_test"])), arrays["y_test"]]
    loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
    run_id = store.create_run(config)
    try:
        store.save_model(run_id, model)
        store.save_metrics(run_id, {
            **test_report(probabilities, arrays["y_test"], loss), "best_epoch": 0, "best_val_accuracy": None,
            "best_val_loss": None, "epochs_run": 0, "train_seconds": 0.0, "train_images": 0,
            "parameters": count_parameters(config),
        })
        store.update_status(run_id, status=COMPLETED, started=time.time(), finished=time.time(),
                            stop_reason="imported", label=f"imported: {filename}"[:80])
    except BaseException:
        shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
        raise
    return run_id
