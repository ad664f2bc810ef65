"""MNIST, offline first: load the bundled file, verify it, split it.

The project ships `data/mnist.npz` so a fresh clone trains without a network.
Keras's own download is the fallback when that file is missing. The split
keeps the 10,000 test images apart: they are only ever used for the final,
held-out evaluation, never for early stopping or model selection.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import IMAGE_SIZE, NUM_CLASSES, PROJECT_ROOT, TEST_IMAGES, TRAIN_IMAGES

BUNDLED_PATH = PROJECT_ROOT / "data" / "mnist.npz"
BUNDLED_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"

_EXPECTED = {
    "x_train": ((TRAIN_IMAGES, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
    "y_train": ((TRAIN_IMAGES,), np.uint8),
    "x_test": ((TEST_IMAGES, IMAGE_SIZE, IMAGE_SIZE), np.uint8),
    "y_test": ((TEST_IMAGES,), np.uint8),
}


class DatasetError(RuntimeError):
    """The MNIST file is present but is not the dataset we expect."""


@dataclass(frozen=True)
class MnistSplits:
    """Train, validation and held-out test arrays.

    Images are float32 in [0, 1], shape (n, 28, 28); labels are uint8 0..9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_arrays(arrays: dict[str, np.ndarray]) -> None:
    """Raise DatasetError unless the four MNIST arrays have the right shapes, types and values."""
    for name, (shape, dtype) in _EXPECTED.items():
        if name not in arrays:
            raise DatasetError(f"MNIST file has no '{name}' array.")
        array = arrays[name]
        if array.shape != shape or array.dtype != dtype:
            raise DatasetError(
                f"MNIST '{name}' is {array.dtype}{list(array.shape)}, expected {np.dtype(dtype)}{list(shape)}."
            )
    for name in ("y_train", "y_test"):
        if arrays[name].max() >= NUM_CLASSES:
            raise DatasetError(f"MNIST '{name}' has labels outside 0..9.")


def load_mnist(path: Path | None = None, *, check_hash: bool = True) -> dict[str, np.ndarray]:
    """Return the raw uint8 MNIST arrays (x_train, y_train, x_test, y_test).

    Reads `path` (default: the bundled file) without pickle and verifies it.
    Only when the file does not exist does it fall back to
    `keras.datasets.mnist.load_data()`, which needs a network.
    """
    path = Path(path) if path is not None else BUNDLED_PATH
    if not path.exists():
        return _download_with_keras()
    if check_hash and path == BUNDLED_PATH and file_sha256(path) != BUNDLED_SHA256:
        raise DatasetError(f"{path} does not match the bundled MNIST checksum; restore it from git.")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    verify_arrays(arrays)
    return arrays


@functools.lru_cache(maxsize=1)
def bundled_mnist() -> dict[str, np.ndarray]:
    """The MNIST arrays, loaded once per process and read-only, shared by every job and page."""
    arrays = load_mnist()
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def _download_with_keras() -> dict[str, np.ndarray]:
    from keras.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    verify_arrays(arrays)
    return arrays


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 pixels to float32 in [0, 1], the scale the models train on."""
    return images.astype(np.float32) / 255.0


def split_mnist(
    arrays: dict[str, np.ndarray],
    *,
    validation_size: int = 5_000,
    train_limit: int | None = None,
) -> MnistSplits:
    """Split MNIST into train / validation / test.

    The validation set is the last `validation_size` training images, so it is
    the same for every seed. `train_limit` keeps only the first N of the
    remaining training images (quick experiments and tests).
    """
    x, y = arrays["x_train"], arrays["y_train"]
    if not 0 < validation_size < len(x):
        raise ValueError(f"validation_size must be between 1 and {len(x) - 1}, got {validation_size}.")
    cut = len(x) - validation_size
    x_train, y_train = x[:cut], y[:cut]
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    return MnistSplits(
        x_train=to_float(x_train),
        y_train=y_train,
        x_val=to_float(x[cut:]),
        y_val=y[cut:],
        x_test=to_float(arrays["x_test"]),
        y_test=arrays["y_test"],
    )
