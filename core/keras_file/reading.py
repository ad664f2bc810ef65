"""Read a `.keras` file, a stranger's upload or the run store's own, as data within a budget: Keras never
deserialises it.

Why it works this way:

- `keras.models.load_model` on untrusted bytes has been a code-execution hole more than once
  (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906, CVE-2026-1462), safe_mode or not. So `config.json`
  is read as plain JSON and accepted only if it describes a Sequential MLP this app could have
  built; the Dense weights are read from `model.weights.h5` with h5py as numbers; the model is
  rebuilt by our own builder.
- The file is still a stranger's, opened on our server. HDF5 can point outside the file (external
  storage, virtual datasets, external and soft links), so anything that is not data stored inside
  the upload is refused before a value is read: otherwise the server's own files end up in the
  stored model, or a FIFO blocks the import forever.
- Every size in a zip or HDF5 file is a claim: a member or a dataset can declare gigabytes, or
  inflate far beyond what it declares. So each size is checked against a budget derived from what
  the config describes before anything is inflated, allocated or read, and inflation itself stops
  at the budget. HDF5's own gzip filter grows its buffer without limit, so compressed chunks are
  inflated here, with a cap, rather than by the library.
- Everything a file can get wrong ends as ModelImportError, with a message for the person who
  uploaded it. Any other exception is a bug here or in the modules below.

The reading is in three modules, one per part of the file: core.keras_file.archive (the archive),
core.keras_file.architecture (config.json) and core.keras_file.weights (model.weights.h5); here, the budgets and the
whole file. `read_model` needs no TensorFlow (so a page can run a saved model with numpy, and a test
can read hostile files under a small memory limit); core.engine.importing rebuilds, evaluates and
stores on top of it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import MAX_LAYERS, MAX_UNITS, TrainConfig, count_parameters
from core.keras_file.architecture import config_from_keras, parse_config_json
from core.keras_file.archive import member, read_member, zip_entries
from core.keras_file.errors import MB, ModelImportError
from core.keras_file.weights import read_dense_weights

MAX_UPLOAD_MB_ENV = "MNIST_MAX_UPLOAD_MB"

# The app saves a model without its optimizer's state (core.training.model.export_model), but files saved by
# earlier versions, or by Keras elsewhere, hold it: Adam keeps two more arrays per weight (m and v),
# RMSprop and SGD with momentum one. Such files are accepted where they fit (and always from the run store).
OPTIMIZER_SLOTS = 2
FLOAT32_BYTES = 4
# HDF5 object headers (about 1 to 2 KB per group or dataset), config.json, metadata.json, zip headers.
EXPORT_OVERHEAD_BYTES = 1 * MB
CONFIG_MAX_BYTES = 256 * 1024  # the largest config.json the app writes is about 9 KB


@dataclass(frozen=True, eq=False)
class ModelArchive:
    """What a `.keras` file holds once checked: the network's settings and its Dense weights.

    Args:
        config: the TrainConfig that rebuilds the network (architecture only: the training
            settings of an imported file are the defaults).
        weights: float32 arrays in layer order, kernel then bias for each Dense layer, as
            `model.set_weights` takes them: (784, units_1), (units_1,), ..., (units_n, 10), (10,).
    """

    config: TrainConfig
    weights: list[np.ndarray]


# --- how big a file may be -----------------------------------------------------------------------


def export_bytes(config: TrainConfig, optimizer_slots: int = 0) -> int:
    """The most bytes a `.keras` file of `config` takes: float32 weights, headers, and `optimizer_slots`
    arrays per weight of optimizer state (0 for the files this app saves now)."""
    return count_parameters(config) * FLOAT32_BYTES * (1 + optimizer_slots) + EXPORT_OVERHEAD_BYTES


def largest_config() -> TrainConfig:
    """The biggest network the Train form allows."""
    return TrainConfig(hidden_layers=(MAX_UNITS,) * MAX_LAYERS)


def default_max_upload_mb() -> int:
    """Megabytes that fit the largest network the app builds, as the app saves it (334)."""
    return math.ceil(export_bytes(largest_config()) / MB)


def _operator_limit_mb() -> float | None:
    raw = os.environ.get(MAX_UPLOAD_MB_ENV)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{MAX_UPLOAD_MB_ENV} must be a positive number of megabytes (it is {raw!r}).")
    return value


def max_upload_bytes() -> int:
    """The largest upload accepted: MNIST_MAX_UPLOAD_MB if the operator set it, else default_max_upload_mb()."""
    limit = _operator_limit_mb()
    return int((default_max_upload_mb() if limit is None else limit) * MB)


def _too_big_message(size: int, limit: int, source: str) -> str:
    told = f"The file is {size / MB:,.1f} MB and the limit is {limit / MB:,.0f} MB"
    if source == "operator":
        return f"{told}, a limit this server's operator set ({MAX_UPLOAD_MB_ENV})."
    if source == "caller":
        return f"{told}."
    return (
        f"{told}, enough for the largest network this app builds ({MAX_LAYERS} hidden layers of "
        f"{MAX_UNITS:,} units). This file is bigger than any model the app makes."
    )


def weights_budget(config: TrainConfig) -> int:
    """The most bytes model.weights.h5 may unpack to: a file of `config` with an optimizer's state, even in
    float64 (a memory bound, not an accusation: the arrays read are only ever the Dense weights)."""
    return 2 * export_bytes(config, OPTIMIZER_SLOTS)


# --- the whole file ------------------------------------------------------------------------------


def read_model(data: bytes, *, max_bytes: int | None = None) -> ModelArchive:
    """Check a `.keras` file and read its settings and Dense weights, without TensorFlow.

    Args:
        data: the file's bytes.
        max_bytes: the largest file accepted; None means `max_upload_bytes()`, the upload limit.
            Files in the run store are read with `read_stored_model`.

    Raises ModelImportError, with a message for a learner, for anything that is not a model this
    app could have saved; nothing outside `data` is read, and memory stays within about the size
    of the model the file describes.
    """
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if len(data) > limit:
        source = "caller" if max_bytes is not None else "operator" if _operator_limit_mb() is not None else "app"
        raise ModelImportError(_too_big_message(len(data), limit, source))
    entries = zip_entries(data)
    config_info, weights_info = member(entries, "config.json"), member(entries, "model.weights.h5")
    raw_config = read_member(data, config_info, CONFIG_MAX_BYTES, "a model description")
    config = config_from_keras(parse_config_json(raw_config))
    raw_weights = read_member(data, weights_info, weights_budget(config), "this model's weights")
    weights = read_dense_weights(raw_weights, config)
    if not all(np.isfinite(w).all() for w in weights):
        raise ModelImportError("The model's weights contain invalid numbers (NaN or infinity).")
    return ModelArchive(config, weights)


def read_stored_model(path: Path) -> ModelArchive:
    """Read a model file of the run store: any model the app saves, and the larger files earlier versions saved
    with their optimizer's state. OSError if it cannot be read, ModelImportError if it is not a usable model."""
    return read_model(Path(path).read_bytes(), max_bytes=export_bytes(largest_config(), OPTIMIZER_SLOTS))
