"""A `.keras` file's model.weights.h5, read with h5py as numbers: only data stored inside the file, only the Dense
kernels and biases its config implies, and compressed pieces inflated here with a cap (core.keras_file.reading
says why)."""

from __future__ import annotations

import io
import math
import re
import zlib

import h5py
import numpy as np

from core.config import INPUT_UNITS, NUM_CLASSES, TrainConfig
from core.keras_file.errors import ModelImportError

MAX_H5_OBJECTS = 1024  # the largest model, with Adam's state, has about 80 groups and datasets
MAX_H5_DEPTH = 8  # Keras nests 3 levels (layers/dense/vars/0); hard links can make a cycle
MAX_CHUNKS = 65_536  # in all; h5py's own chunking of the largest model makes about 5,500

_DENSE_GROUP = re.compile(r"^dense(?:_\d+)?$")
# Exactly these: a float type with other bit fields would be converted by HDF5 but misread from raw chunks.
_FLOAT_TYPES = tuple(getattr(h5py.h5t, f"IEEE_F{bits}{order}") for bits in (16, 32, 64) for order in ("LE", "BE"))


def weight_shapes(config: TrainConfig) -> list[tuple[int, ...]]:
    """Kernel and bias shapes of every Dense layer, in order: plain arithmetic, no TensorFlow."""
    shapes, previous = [], INPUT_UNITS
    for units in (*config.hidden_layers, NUM_CLASSES):
        shapes += [(previous, units), (units,)]
        previous = units
    return shapes


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
