"""A look inside the network once per epoch: what the worker keeps, and how the pages read it back.

Before the first epoch and after each one, the training worker keeps a compact snapshot in the run's
`snapshots/` folder, so the Train page can show the network changing, a reload mid-run finds it
again, and a finished run can be replayed epoch by epoch:

    snapshots/digits.npz      the fixed validation digits the guesses are made on (written once)
    snapshots/epoch-007.npz   one epoch (000 is before training): about 40 KB

Each epoch holds
- `first_layer`: the incoming weights of the first hidden layer's first FIRST_LAYER_NEURONS neurons,
  each as a 28x28 image (float16): what pattern of ink makes that neuron fire;
- `probabilities`: the model's ten probabilities for each of the fixed digits (float16);
- `histogram_counts`, `histogram_limits`: a histogram of every Dense layer's weights, in
  HISTOGRAM_BINS equal bins from -limit to +limit (the layer's largest weight, in absolute value).

Files are written with `np.savez` (no pickle) through the run store's atomic writes. Everything read
back is checked: the file's size, its members, each array's type, shape and range. Whoever edited
the run folder, a file that is not what the worker writes is skipped (that epoch is not shown) and
never raises.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import IMAGE_SIZE, MAX_EPOCHS, MAX_LAYERS, NUM_CLASSES, TRAIN_IMAGES

FOLDER = "snapshots"
DIGITS_FILE = "digits.npz"
FIRST_LAYER_NEURONS = 24  # shown as 4 rows of 6
# The digits "Its guesses on 20 digits" shows, as indices into MNIST's training images: an ordinary one and a hard
# one of each digit, 0 to 9, the hard one read wrong by the default network after its first epoch and right once
# trained, so the panel keeps changing after epoch 1 (chosen by bench/guess_digits.py). All are among the last
# 1,000 training images: in every run's validation set, whatever its size, and never the test set.
GUESS_DIGITS = (
    59859, 59418, 59658, 59783, 59537, 59734, 59271, 59660, 59321, 59401,
    59064, 59377, 59098, 59928, 59019, 59830, 59173, 59294, 59817, 59314,
)  # fmt: skip
HISTOGRAM_BINS = 40
DENSE_LAYERS = MAX_LAYERS + 1  # the most Dense layers a network has: its hidden layers and the output
MAX_FILE_BYTES = 1_000_000  # an epoch file is about 40 KB; anything much larger was not written here
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_EPOCH_FILE = re.compile(r"^epoch-(\d{3})\.npz$")


class SnapshotError(ValueError):
    """A snapshot file is not what the worker writes; the message says what is wrong."""


@dataclass(frozen=True)
class GuessDigits:
    """The fixed validation digits whose guesses are kept each epoch: uint8 images (k, 28, 28), labels (k,)."""

    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """One epoch's look inside the network (epoch 0: the random start, before training)."""

    epoch: int
    first_layer: np.ndarray  # (neurons, 28, 28) float16 weights
    probabilities: np.ndarray  # (digits, 10) float16
    histogram_counts: np.ndarray  # (layers, HISTOGRAM_BINS) int64 counts of weights
    histogram_limits: np.ndarray  # (layers,) float64: each histogram spans -limit..+limit

    @property
    def guesses(self) -> np.ndarray:
        """The digit the model picks for each fixed digit."""
        return np.nan_to_num(self.probabilities.astype(np.float32), nan=0.0).argmax(axis=1)

    @property
    def confidences(self) -> np.ndarray:
        """How sure it is of each guess (0 to 1)."""
        return np.nan_to_num(self.probabilities.astype(np.float32), nan=0.0).max(axis=1)


@dataclass(frozen=True)
class SnapshotSeries:
    """Every readable snapshot of a run, oldest first, and the digits its guesses are about (None if unreadable)."""

    snapshots: list[Snapshot]
    digits: GuessDigits | None

    @property
    def epochs(self) -> list[int]:
        return [snapshot.epoch for snapshot in self.snapshots]

    def at(self, epoch: int) -> Snapshot:
        """The snapshot of `epoch`, or of the latest epoch before it when that one is missing."""
        earlier = [snapshot for snapshot in self.snapshots if snapshot.epoch <= epoch]
        return earlier[-1] if earlier else self.snapshots[0]

    def guesses_readable(self, snapshot: Snapshot) -> bool:
        return self.digits is not None and len(self.digits.labels) == len(snapshot.probabilities)

    def of_network(self, hidden_layers: tuple[int, ...]) -> SnapshotSeries:
        """Only the snapshots a network of these hidden layers could have made (as many neurons, as many layers)."""
        neurons, layers = min(FIRST_LAYER_NEURONS, hidden_layers[0]), len(hidden_layers) + 1
        kept = [s for s in self.snapshots if len(s.first_layer) == neurons and len(s.histogram_counts) == layers]
        return SnapshotSeries(kept, self.digits)


# --- made in the worker (plain numpy; core.training.callbacks feeds it the model's arrays) ------------------


def choose_guess_digits(validation_size: int, train_images: int = TRAIN_IMAGES) -> np.ndarray:
    """Where GUESS_DIGITS are in a validation set of this size (the last `validation_size` training images)."""
    return np.asarray(GUESS_DIGITS, dtype=np.int64) - (train_images - validation_size)


def guess_digits(images: np.ndarray, labels: np.ndarray) -> GuessDigits:
    """The chosen digits as kept: float images in [0, 1] become uint8 pixels."""
    pixels = np.asarray(images, dtype=np.float32)
    return GuessDigits(np.round(pixels.clip(0, 1) * 255).astype(np.uint8), np.asarray(labels, dtype=np.uint8))


def weight_histogram(kernel: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, float]:
    """Counts of a layer's weights in `bins` equal bins over -limit..+limit, and the limit (largest |weight|)."""
    values = np.asarray(kernel, dtype=np.float32).ravel()
    values = values[np.isfinite(values)]
    limit = float(np.abs(values).max()) if values.size else 0.0
    limit = limit if limit > 0 else 1e-3
    counts, _ = np.histogram(values, bins=bins, range=(-limit, limit))
    return counts.astype(np.int64), limit


def make_snapshot(
    epoch: int, kernels: list[np.ndarray], probabilities: np.ndarray, neurons: int = FIRST_LAYER_NEURONS
) -> Snapshot:
    """A snapshot from every Dense layer's kernel (first hidden layer first) and the fixed digits' probabilities."""
    first = np.asarray(kernels[0], dtype=np.float32)  # (784, units): column j is neuron j's incoming weights
    shown = first[:, :neurons].T.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    histograms = [weight_histogram(kernel) for kernel in kernels]
    return Snapshot(
        epoch=int(epoch),
        first_layer=shown.astype(np.float16),
        probabilities=np.asarray(probabilities, dtype=np.float32).astype(np.float16),
        histogram_counts=np.stack([counts for counts, _ in histograms]),
        histogram_limits=np.asarray([limit for _, limit in histograms], dtype=np.float64),
    )


def epoch_file_name(epoch: int) -> str:
    return f"epoch-{epoch:03d}.npz"


def encode_snapshot(snapshot: Snapshot) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        first_layer=snapshot.first_layer.astype(np.float16),
        probabilities=snapshot.probabilities.astype(np.float16),
        histogram_counts=snapshot.histogram_counts.astype(np.int64),
        histogram_limits=snapshot.histogram_limits.astype(np.float64),
    )
    return buffer.getvalue()


def encode_digits(digits: GuessDigits) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, images=digits.images.astype(np.uint8), labels=digits.labels.astype(np.uint8))
    return buffer.getvalue()


# --- read back in the app: checked, never trusted ---------------------------------------------------


def _arrays(data: bytes, expected: dict[str, tuple]) -> dict[str, np.ndarray]:
    """The arrays of an .npz, which must hold exactly `expected` (name: (dtype, most items)).

    Each array's header is read and checked before the array itself: a small file may declare a huge array.
    """
    if len(data) > MAX_FILE_BYTES:
        raise SnapshotError(f"it is {len(data):,} bytes, more than a snapshot ever is")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = {name.removesuffix(".npy") for name in npz.zip.namelist()}
            if names != set(expected):
                raise SnapshotError(f"it holds {sorted(names)}, not {sorted(expected)}")
            arrays = {}
            for name, (dtype, most) in expected.items():
                info = npz.zip.getinfo(f"{name}.npy")
                if info.file_size > most * np.dtype(dtype).itemsize + 1024:
                    raise SnapshotError(f"{name} is larger than a snapshot's")
                with npz.zip.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in _HEADERS:
                        raise SnapshotError(f"{name} is in .npy format {version}, which the worker never writes")
                    shape, _, kind = _HEADERS[version](member)
                if kind != np.dtype(dtype):
                    raise SnapshotError(f"{name} is {kind}, not {np.dtype(dtype)}")
                if math.prod(shape) > most:
                    raise SnapshotError(f"{name} has shape {shape}, larger than a snapshot's")
                arrays[name] = npz[name]
            return arrays
    except SnapshotError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError) as error:
        raise SnapshotError(f"it is not a readable .npz file ({type(error).__name__})") from None


def _shape(name: str, array: np.ndarray, ok: bool, expected: str) -> None:
    if not ok:
        raise SnapshotError(f"{name} has shape {array.shape}, not {expected}")


def decode_snapshot(data: bytes, epoch: int) -> Snapshot:
    """An epoch file's content, checked; SnapshotError says what is wrong."""
    pixels = IMAGE_SIZE * IMAGE_SIZE
    arrays = _arrays(
        data,
        {
            "first_layer": (np.float16, FIRST_LAYER_NEURONS * pixels),
            "probabilities": (np.float16, 64 * NUM_CLASSES),
            "histogram_counts": (np.int64, DENSE_LAYERS * HISTOGRAM_BINS),
            "histogram_limits": (np.float64, DENSE_LAYERS),
        },
    )
    first, probabilities = arrays["first_layer"], arrays["probabilities"]
    counts, limits = arrays["histogram_counts"], arrays["histogram_limits"]
    _shape(
        "first_layer",
        first,
        first.ndim == 3 and 1 <= first.shape[0] <= FIRST_LAYER_NEURONS and first.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE),
        f"(1 to {FIRST_LAYER_NEURONS}, 28, 28)",
    )
    _shape(
        "probabilities",
        probabilities,
        probabilities.ndim == 2 and 1 <= probabilities.shape[0] <= 64 and probabilities.shape[1] == NUM_CLASSES,
        "(digits, 10)",
    )
    finite = probabilities[np.isfinite(probabilities)]  # NaN is a diverged training's answer, not damage
    if finite.size and (finite.min() < 0 or finite.max() > 1.01):
        raise SnapshotError("probabilities are outside 0..1")
    _shape(
        "histogram_counts",
        counts,
        counts.ndim == 2 and 2 <= counts.shape[0] <= DENSE_LAYERS and counts.shape[1] == HISTOGRAM_BINS,
        f"(layers, {HISTOGRAM_BINS})",
    )
    _shape("histogram_limits", limits, limits.shape == (counts.shape[0],), "(layers,)")
    if counts.min() < 0:
        raise SnapshotError("histogram_counts has negative counts")
    if not (np.isfinite(limits).all() and (limits > 0).all()):
        raise SnapshotError("histogram_limits must be positive numbers")
    return Snapshot(int(epoch), first, probabilities, counts, limits)


def decode_digits(data: bytes) -> GuessDigits:
    arrays = _arrays(data, {"images": (np.uint8, 64 * IMAGE_SIZE * IMAGE_SIZE), "labels": (np.uint8, 64)})
    images, labels = arrays["images"], arrays["labels"]
    _shape("labels", labels, labels.ndim == 1 and 1 <= len(labels) <= 64, "(digits,)")
    _shape("images", images, images.shape == (len(labels), IMAGE_SIZE, IMAGE_SIZE), f"({len(labels)}, 28, 28)")
    if labels.max() >= NUM_CLASSES:
        raise SnapshotError("labels must be digits 0 to 9")
    return GuessDigits(images, labels)


def _read(path: Path) -> bytes | None:
    """A regular file's bytes, at most MAX_FILE_BYTES + 1 of them; None where there is none or it cannot be read.

    Opened without blocking and checked to be a regular file: a pipe put in its place must not hang the page.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _frozen(value):
    for array in vars(value).values():
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return value


def _decoded(path: Path, decode):
    """`decode(bytes)` of a file, its arrays read-only; None if it is missing, unreadable or fails the checks."""
    data = _read(path)
    if data is None:
        return None
    try:
        return _frozen(decode(data))
    except SnapshotError:
        return None


def epoch_files(folder: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every file named like an epoch's snapshot, oldest first; [] if there is no folder."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        match = _EPOCH_FILE.match(name)
        if match and int(match.group(1)) <= MAX_EPOCHS:
            found.append((int(match.group(1)), folder / name))
    return sorted(found)


def folder_state(folder: Path) -> tuple:
    """What changes whenever a snapshot is added or replaced: names, sizes and times of the folder's files.

    Cheap (one listing, a stat per file), so a reader can look often and reread the series only when it changes.
    """
    entries = []
    for _, path in epoch_files(folder) + [(-1, folder / DIGITS_FILE)]:
        try:
            status = path.stat()
        except OSError:
            continue
        entries.append((path.name, status.st_size, status.st_mtime_ns))
    return tuple(entries)


def version(folder: Path) -> str:
    """A short name for the folder's state (16 hex digits): it changes when an epoch's snapshot is added or
    replaced. The live feed (core.live_feed) sends a page the panels' new view when it moves on."""
    return version_of(folder_state(folder))


def version_of(state: tuple) -> str:
    """The version of a folder whose state was `state`."""
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


def read_series(folder: Path) -> SnapshotSeries:
    """Every snapshot in `folder` that passes the checks; files that do not are left out. Never raises.

    The arrays come back read-only, so one series can be shared by every browser session.
    """
    snapshots = [_decoded(path, lambda data, e=epoch: decode_snapshot(data, e)) for epoch, path in epoch_files(folder)]
    snapshots = [snapshot for snapshot in snapshots if snapshot is not None]
    digits = _decoded(folder / DIGITS_FILE, decode_digits)
    # One network per run: a snapshot whose layers differ from the latest one's was not written by this run.
    if snapshots:
        layers, neurons = snapshots[-1].histogram_counts.shape[0], snapshots[-1].first_layer.shape[0]
        snapshots = [
            s for s in snapshots if s.histogram_counts.shape[0] == layers and s.first_layer.shape[0] == neurons
        ]
    return SnapshotSeries(snapshots, digits)


# --- what the pages draw from it ----------------------------------------------------------------------


def common_histograms(series: SnapshotSeries, grid_bins: int = 60) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer: (bin edges shared by every epoch, share of the layer's weights per epoch and bin).

    Each epoch's histogram spans its own range; to lay epochs side by side they are moved onto one grid
    (from -largest to +largest limit over the epochs) by interpolating each epoch's cumulative counts.
    Shares have shape (epochs, grid_bins) and each row sums to 1.
    """
    snapshots = series.snapshots
    if not snapshots:
        return []
    result = []
    for layer in range(snapshots[0].histogram_counts.shape[0]):
        widest = max(float(s.histogram_limits[layer]) for s in snapshots)
        edges = np.linspace(-widest, widest, grid_bins + 1)
        shares = np.zeros((len(snapshots), grid_bins))
        for row, snapshot in enumerate(snapshots):
            counts = snapshot.histogram_counts[layer].astype(np.float64)
            limit = float(snapshot.histogram_limits[layer])
            own_edges = np.linspace(-limit, limit, len(counts) + 1)
            cumulative = np.concatenate([[0.0], np.cumsum(counts)])
            moved = np.diff(np.interp(edges, own_edges, cumulative))
            total = moved.sum()
            shares[row] = moved / total if total > 0 else 0.0
        result.append((edges, shares))
    return result


def layer_names(layers: int, hidden_layers: tuple[int, ...] | None = None) -> list[str]:
    """Names for the histograms' layers: "hidden 1 (784 → 512)" ... "output (512 → 10)" when the shape is known."""
    if hidden_layers is None or len(hidden_layers) + 1 != layers:
        return [f"layer {i}" for i in range(1, layers + 1)]
    sizes = [IMAGE_SIZE * IMAGE_SIZE, *hidden_layers, NUM_CLASSES]
    names = [f"hidden {i}" for i in range(1, layers)] + ["output"]
    return [f"{name} ({sizes[i]} → {sizes[i + 1]})" for i, name in enumerate(names)]
