"""Read a `.keras` file a stranger uploads as data, within a budget, and never let Keras deserialise it.

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
  uploaded it. Any other exception is a bug in this module.

`read_model` needs no TensorFlow (so a page can run a saved model with numpy, and a test can read
hostile files under a small memory limit); `import_model` rebuilds, evaluates and stores on top of it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from core.config import ACTIVATIONS, MAX_LAYERS, MAX_UNITS, ConfigError, TrainConfig
from core.data import IMAGE_SIZE, NUM_CLASSES
from core.model import INPUT_UNITS, count_parameters
from core.run_states import COMPLETED, IMPORTED
from core.store import RunStore, StoreError

MAX_UPLOAD_MB_ENV = "MNIST_MAX_UPLOAD_MB"
MB = 2**20  # Streamlit's maxUploadSize counts megabytes of 1,048,576 bytes, and so does every message here
ALLOWED_LAYERS = ("InputLayer", "Flatten", "Dense", "Dropout")
# Input, Flatten, then a Dense and a Dropout per hidden layer, then the output Dense.
MAX_KERAS_LAYERS = 2 + 2 * MAX_LAYERS + 1

# The app saves a model without its optimizer's state (core.model.export_model), but files saved by
# earlier versions, or by Keras elsewhere, hold it: Adam keeps two more arrays per weight (m and v),
# RMSprop and SGD with momentum one. Such files are accepted where they fit (and always from the run store).
OPTIMIZER_SLOTS = 2
FLOAT32_BYTES = 4
# HDF5 object headers (about 1 to 2 KB per group or dataset), config.json, metadata.json, zip headers.
EXPORT_OVERHEAD_BYTES = 1 * MB

CONFIG_MAX_BYTES = 256 * 1024  # the largest config.json the app writes is about 9 KB
CONFIG_MAX_DEPTH = 32  # Keras nests about 7 levels; json.loads recurses, so depth is checked first
MAX_ZIP_ENTRIES = 64  # Keras writes 3 (metadata.json, config.json, model.weights.h5)
MAX_H5_OBJECTS = 1024  # the largest model, with Adam's state, has about 80 groups and datasets
MAX_H5_DEPTH = 8  # Keras nests 3 levels (layers/dense/vars/0); hard links can make a cycle
MAX_CHUNKS = 65_536  # in all; h5py's own chunking of the largest model makes about 5,500
INFLATE_STEP = 1 * MB

_KERAS_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64", 93: "zstandard"}
_ZIP_ENCRYPTED = 0x1
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_HEADER_MAGIC = b"PK\x03\x04"
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_DENSE_GROUP = re.compile(r"^dense(?:_\d+)?$")
# Exactly these: a float type with other bit fields would be converted by HDF5 but misread from raw chunks.
_FLOAT_TYPES = tuple(getattr(h5py.h5t, f"IEEE_F{bits}{order}") for bits in (16, 32, 64) for order in ("LE", "BE"))


class ModelImportError(ValueError):
    """The file is not a model this app can take; the message says why, for the person who uploaded it."""


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


# --- the zip archive -----------------------------------------------------------------------------


def _zip_entries(data: bytes) -> list[zipfile.ZipInfo]:
    """The zip's list of members, once it is known to be short (zipfile builds an object per entry)."""
    if not data.startswith(b"PK"):
        raise ModelImportError("This is not a .keras model file: a .keras file is a zip archive, and this is not one.")
    source = io.BytesIO(data)  # shares `data`'s memory: bytes are immutable
    try:
        # The same end record zipfile.ZipFile will trust, read before it builds anything from it.
        end = zipfile._EndRecData(source)
        if end is None:
            raise zipfile.BadZipFile("no end of central directory")
        entries, directory_bytes = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
        if entries > MAX_ZIP_ENTRIES or directory_bytes > MAX_ZIP_ENTRIES * 1024:
            raise ModelImportError(f"This archive lists {entries:,} files; a .keras model has 3, so it is not one.")
        with zipfile.ZipFile(source) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, OverflowError, struct.error) as error:
        if isinstance(error, ModelImportError):
            raise
        raise _damaged() from error


def _damaged() -> ModelImportError:
    return ModelImportError("The file is damaged (perhaps cut short while downloading); download it again.")


def _member(entries: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    """The one entry called `name`, after the checks that come before inflating anything."""
    found = [info for info in entries if info.filename == name]
    if not found:
        raise ModelImportError(f"This archive is not a Keras model: it has no {name}.")
    if len(found) > 1:
        # Readers disagree on which copy counts, which is how a checked file and a used file can differ.
        raise ModelImportError(f"This archive holds {name} {len(found)} times; a Keras model holds it once.")
    info = found[0]
    if info.flag_bits & _ZIP_ENCRYPTED:
        raise ModelImportError(f"{name} in this archive is encrypted; Keras never encrypts a model.")
    if info.compress_type not in _KERAS_METHODS:
        method = _ZIP_METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ModelImportError(
            f"{name} is compressed with {method}; Keras stores it as is or with deflate, "
            "so this file was not saved by Keras."
        )
    return info


def _size_text(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size < MB else f"{size / MB:,.1f} MB"


def _check_size(info: zipfile.ZipInfo, limit: int, what: str) -> None:
    if info.file_size > limit:
        raise ModelImportError(
            f"{info.filename} unpacks to {_size_text(info.file_size)}, more than {what} can take ({_size_text(limit)})."
        )


def _read_member(data: bytes, info: zipfile.ZipInfo, limit: int, what: str) -> memoryview:
    """The member's bytes, checked against its CRC: a view into `data` if stored, else inflated up to `limit`."""
    _check_size(info, limit, what)
    try:
        packed = _packed_bytes(data, info)
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise _damaged()
            content = packed  # no copy: the largest model's weights are hundreds of megabytes
        else:
            content = memoryview(_inflate(packed, info))
        if zlib.crc32(content) != info.CRC:
            raise _damaged()
        return content
    except (zlib.error, ValueError, struct.error) as error:
        if isinstance(error, ModelImportError):
            raise
        raise _damaged() from error


def _packed_bytes(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """Where the member's (compressed) bytes lie in `data`, found as zipfile finds them: after its local header."""
    start = info.header_offset
    header = _LOCAL_HEADER.unpack_from(data, start) if start >= 0 else (None,)
    if header[0] != _LOCAL_HEADER_MAGIC:
        raise _damaged()
    first = start + _LOCAL_HEADER.size + header[10] + header[11]  # after the name and the extra field
    if first + info.compress_size > len(data):
        raise _damaged()
    return memoryview(data)[first : first + info.compress_size]


def _inflate(packed: memoryview, info: zipfile.ZipInfo) -> bytearray:
    """Deflated bytes, a step at a time, never more than the size checked before: a declared size is only a claim."""
    inflater, out = zlib.decompressobj(-zlib.MAX_WBITS), bytearray()
    for start in range(0, len(packed), INFLATE_STEP):
        out += inflater.decompress(packed[start : start + INFLATE_STEP], info.file_size + 1 - len(out))
        if len(out) > info.file_size:
            raise ModelImportError(
                f"{info.filename} unpacks to more than the {info.file_size:,} bytes it declares; a damaged or "
                "hostile file, so it is refused."
            )
        if inflater.eof:
            break
    if not inflater.eof or len(out) != info.file_size:
        raise _damaged()
    return out


# --- config.json ---------------------------------------------------------------------------------


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


# --- model.weights.h5 ----------------------------------------------------------------------------


def weight_shapes(config: TrainConfig) -> list[tuple[int, ...]]:
    """Kernel and bias shapes of every Dense layer, in order: plain arithmetic, no TensorFlow."""
    shapes, previous = [], INPUT_UNITS
    for units in (*config.hidden_layers, NUM_CLASSES):
        shapes += [(previous, units), (units,)]
        previous = units
    return shapes


def weights_budget(config: TrainConfig) -> int:
    """The most bytes model.weights.h5 may unpack to: a file of `config` with an optimizer's state, even in
    float64 (a memory bound, not an accusation: the arrays read are only ever the Dense weights)."""
    return 2 * export_bytes(config, OPTIMIZER_SLOTS)


class _ReadOnlyFile(io.RawIOBase):
    """A file over bytes already in memory, for h5py, without copying them."""

    def __init__(self, view: memoryview):
        super().__init__()
        self._view, self._position = view, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        target = memoryview(buffer).cast("B")
        chunk = self._view[self._position : self._position + len(target)]
        target[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position


def _h5_path(index: int) -> str:
    """Where Keras 3 keeps the index-th Dense layer's variables (vars/0 kernel, vars/1 bias)."""
    return f"layers/{'dense' if index == 0 else f'dense_{index}'}"


def _check_tree(h5) -> None:
    """Every link a hard link inside the file, every dataset's values stored inside it, within a count."""
    pending, seen = [("", h5, 0)], 0
    while pending:
        path, group, depth = pending.pop()
        seen += group.id.get_num_objs()
        if seen > MAX_H5_OBJECTS or depth > MAX_H5_DEPTH:
            raise ModelImportError("The weights file holds far more objects than a Keras model; it is refused.")
        for name in group:
            where = f"{path}/{name}"
            if "/" in name or name in ("", "."):
                # a path would make HDF5 follow the links along it before any of them is checked
                raise ModelImportError(f"The weights file has a malformed name, {where[:80]!r}.")
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                kind = {h5py.SoftLink: "a link to", h5py.ExternalLink: "a link into another file for"}
                raise ModelImportError(
                    f"The weights file has {kind.get(type(link), 'an unusual link for')} "
                    f"{where[:80]}; only data stored in the file itself is read."
                )
            item = group[name]
            if isinstance(item, h5py.Group):
                pending.append((where, item, depth + 1))
            elif isinstance(item, h5py.Dataset):
                _check_storage(item, where)
            else:
                raise ModelImportError(f"The weights file has an unexpected object at {where[:80]}.")


def _check_storage(dataset, where: str) -> None:
    """Refuse, before reading, a dataset whose values live outside the file or need an unknown filter."""
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    if layout == h5py.h5d.VIRTUAL or dataset.is_virtual:
        raise ModelImportError(
            f"The weights file's {where[:80]} is assembled from other files (a virtual "
            "dataset); only data stored in the file itself is read."
        )
    if plist.get_external_count() > 0:
        raise ModelImportError(
            f"The weights file's {where[:80]} keeps its values in another file (external "
            "storage); only data stored in the file itself is read."
        )
    if layout not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT):
        raise ModelImportError(f"The weights file's {where[:80]} uses an unknown storage layout.")
    for index in range(plist.get_nfilters()):
        code, _, _, name = plist.get_filter(index)
        if code not in (h5py.h5z.FILTER_DEFLATE, h5py.h5z.FILTER_SHUFFLE):
            shown = name.decode("ascii", "replace")[:40] or f"number {code}"
            raise ModelImportError(
                f"The weights file's {where[:80]} is encoded with the {shown} filter; only gzip and shuffle are read."
            )


def _weight_dataset(h5, index: int, which: int, shape: tuple[int, ...]):
    """The dataset of one kernel or bias, once its type and declared shape are what the config implies."""
    group = h5.get(f"{_h5_path(index)}/vars")
    name = "kernel" if which == 0 else "bias"
    if not isinstance(group, h5py.Group) or sorted(group) != ["0", "1"]:
        raise ModelImportError(
            f"The weights file has no kernel and bias for Dense layer {index + 1}; it does "
            "not match the model's description."
        )
    dataset = group[str(which)]
    if not isinstance(dataset, h5py.Dataset):
        raise ModelImportError(f"Dense layer {index + 1}'s {name} in the weights file is not an array.")
    kind = dataset.id.get_type()
    if not any(kind.equal(t) for t in _FLOAT_TYPES):
        raise ModelImportError(
            f"Dense layer {index + 1}'s {name} is not stored as floating-point numbers "
            "(float16, float32 or float64), so it cannot be read as weights."
        )
    if dataset.shape != shape:
        raise ModelImportError(
            f"Dense layer {index + 1}'s {name} has shape {dataset.shape}, where the model's "
            f"description implies {shape}; the file does not match itself."
        )
    return dataset


def _is_chunked(dataset) -> bool:
    return dataset.id.get_create_plist().get_layout() == h5py.h5d.CHUNKED


def _chunk_grid(dataset) -> tuple[tuple[int, ...], int]:
    """(chunk shape, number of chunks) of a chunked dataset, refused if a chunk is bigger than the array."""
    chunk, shape = dataset.id.get_create_plist().get_chunk(), dataset.shape
    if len(chunk) != len(shape) or any(not 1 <= c <= s for c, s in zip(chunk, shape, strict=True)):
        raise ModelImportError("The weights file stores an array in pieces larger than the array; it is refused.")
    return chunk, math.prod(-(-s // c) for s, c in zip(shape, chunk, strict=True))


def _read_values(dataset, file_size: int) -> np.ndarray:
    """The dataset as float32: HDF5 reads plain storage; chunks are inflated here, with a cap."""
    if _is_chunked(dataset):
        return _read_chunks(dataset, file_size)
    values = np.empty(dataset.shape, dtype=np.float32)
    dataset.read_direct(values)  # HDF5 converts float16/64 or big-endian into this array, 1 MB at a time
    return values


def _stored_chunks(dataset, count: int) -> list:
    """Where each chunk is stored (StoreInfo), refused unless there are exactly `count` of them."""
    if dataset.id.get_num_chunks() != count:
        raise ModelImportError("An array in the weights file is incomplete or has extra pieces; it is refused.")
    stored = []

    def keep(info) -> bool | None:
        stored.append(info)
        return True if len(stored) > count else None  # anything but None stops h5py's iteration

    dataset.id.chunk_iter(keep)
    if len(stored) != count:
        raise ModelImportError("An array in the weights file is incomplete or has extra pieces; it is refused.")
    return stored


def _read_chunks(dataset, file_size: int) -> np.ndarray:
    """A chunked dataset chunk by chunk: HDF5's own gzip filter would inflate a chunk without limit."""
    (chunk, count), shape, itemsize = _chunk_grid(dataset), dataset.shape, dataset.dtype.itemsize
    plist = dataset.id.get_create_plist()
    pipeline = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    chunk_bytes = math.prod(chunk) * itemsize
    values, done = np.empty(shape, dtype=np.float32), set()
    for info in _stored_chunks(dataset, count):
        offset = tuple(info.chunk_offset)
        on_grid = len(offset) == len(shape) and all(
            o % c == 0 and 0 <= o < s for o, c, s in zip(offset, chunk, shape, strict=True)
        )
        # zlib grows incompressible data by about 0.1 %, so a stored chunk is never much bigger than its values
        too_big = info.size > chunk_bytes * 1.01 + 64 or info.byte_offset + info.size > file_size
        if offset in done or not on_grid or too_big:
            raise ModelImportError(
                "An array in the weights file has a piece that is damaged or bigger than the "
                "array itself; it is refused."
            )
        done.add(offset)
        mask, raw = dataset.id.read_direct_chunk(offset)
        block = np.frombuffer(_unfilter(raw, mask, pipeline, chunk_bytes, itemsize), dataset.dtype).reshape(chunk)
        region = tuple(slice(o, min(o + c, s)) for o, c, s in zip(offset, chunk, shape, strict=True))
        values[region] = block[tuple(slice(0, r.stop - r.start) for r in region)]
    return values


def _unfilter(raw: bytes, mask: int, pipeline: list, chunk_bytes: int, itemsize: int) -> bytes:
    """Undo gzip and shuffle (in reverse order, skipping those the chunk's mask says were not applied)."""
    data = raw
    for index in reversed(range(len(pipeline))):
        code, _, values, _ = pipeline[index]
        if mask & (1 << index):
            continue
        if code == h5py.h5z.FILTER_DEFLATE:
            data = _inflate_chunk(data, chunk_bytes)
        elif len(data) != chunk_bytes or (values and values[0] != itemsize):
            raise ModelImportError("An array in the weights file has a damaged piece; it is refused.")
        else:  # shuffle stored every value's first bytes, then every value's second bytes, ...
            data = np.frombuffer(data, dtype=np.uint8).reshape(itemsize, -1).T.tobytes()
    if len(data) != chunk_bytes:
        raise ModelImportError("An array in the weights file has a damaged piece; it is refused.")
    return data


def _inflate_chunk(raw: bytes, chunk_bytes: int) -> bytes:
    """One gzip-filtered chunk, which must unpack to exactly its size and not one byte more."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, chunk_bytes)
        extra = inflater.decompress(inflater.unconsumed_tail, 1) if not inflater.eof else b""
    except zlib.error as error:
        raise ModelImportError("An array in the weights file has a damaged compressed piece.") from error
    if extra or not inflater.eof or len(data) != chunk_bytes:
        raise ModelImportError("An array in the weights file does not unpack to its declared size; it is refused.")
    return data


def read_dense_weights(weights: bytes | memoryview, config: TrainConfig) -> list[np.ndarray]:
    """Kernel and bias of every Dense layer, as float32, after every check that comes before reading."""
    shapes = weight_shapes(config)
    layers = len(shapes) // 2
    try:
        with h5py.File(_ReadOnlyFile(memoryview(weights)), "r") as h5:
            _check_tree(h5)
            group = h5.get("layers")
            found = sorted(name for name in group if _DENSE_GROUP.match(name)) if isinstance(group, h5py.Group) else []
            if found != sorted(_h5_path(i).split("/")[1] for i in range(layers)):
                raise ModelImportError(
                    f"The weights file has {len(found)} Dense layers where the model's "
                    f"description has {layers}; the file does not match itself."
                )
            datasets = [_weight_dataset(h5, i // 2, i % 2, shape) for i, shape in enumerate(shapes)]
            if sum(_chunk_grid(d)[1] for d in datasets if _is_chunked(d)) > MAX_CHUNKS:
                raise ModelImportError(
                    "The weights file stores its arrays in tens of thousands of tiny pieces; "
                    "reading them would take too long, so it is refused."
                )
            return [_read_values(dataset, len(weights)) for dataset in datasets]
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, NotImplementedError) as error:
        if isinstance(error, ModelImportError):
            raise
        raise ModelImportError("The model's weights are damaged or not in Keras's format.") from error


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
    entries = _zip_entries(data)
    config_info, weights_info = _member(entries, "config.json"), _member(entries, "model.weights.h5")
    raw_config = _read_member(data, config_info, CONFIG_MAX_BYTES, "a model description")
    config = config_from_keras(parse_config_json(raw_config))
    raw_weights = _read_member(data, weights_info, weights_budget(config), "this model's weights")
    weights = read_dense_weights(raw_weights, config)
    if not all(np.isfinite(w).all() for w in weights):
        raise ModelImportError("The model's weights contain invalid numbers (NaN or infinity).")
    return ModelArchive(config, weights)


def read_stored_model(path: Path) -> ModelArchive:
    """Read a model file of the run store: any model the app saves, and the larger files earlier versions saved
    with their optimizer's state. OSError if it cannot be read, ModelImportError if it is not a usable model."""
    return read_model(Path(path).read_bytes(), max_bytes=export_bytes(largest_config(), OPTIMIZER_SLOTS))


def import_model(data: bytes, filename: str, store: RunStore, owner: str | None = None, owner_name: str = "") -> str:
    """Check, rebuild and evaluate an uploaded model, and store it as a new completed run (`owner`'s, if given).

    Returns the run id. On any refusal (ModelImportError) nothing is stored.
    """
    from core.data import bundled_mnist, to_float
    from core.evaluation import evaluate
    from core.inference import Classifier
    from core.isolated import IsolatedError
    from core.model import PlainModelFile

    archive = read_model(data)
    arrays = bundled_mnist()
    metrics = evaluate(
        Classifier(archive.config, archive.weights).predict(to_float(arrays["x_test"])),
        arrays["y_test"],
        best_epoch=0,
        epochs_run=0,
        train_seconds=0.0,
        train_images=0,
        parameters=count_parameters(archive.config),
    )
    # Rebuilt by our own builder from the checked settings (the file's config is only ever data), and
    # written by a child process, so this server never imports TensorFlow (core.isolated).
    model = PlainModelFile(archive.config, archive.weights)
    run_id = store.create_run(archive.config, owner=owner, owner_name=owner_name)
    try:
        try:
            store.save_model(run_id, model)
        except IsolatedError as error:
            raise StoreError(f"Could not save the imported model: {error}") from error
        store.save_metrics(run_id, metrics)
        store.update_status(
            run_id,
            status=COMPLETED,
            started=time.time(),
            finished=time.time(),
            stop_reason=IMPORTED,
            label=f"imported: {filename}"[:80],
        )
    except BaseException:
        shutil.rmtree(store.run_dir(run_id), ignore_errors=True)
        raise
    return run_id
