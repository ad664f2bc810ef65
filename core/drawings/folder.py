"""Your drawings: a folder of labelled digit images, filled from the Draw page or by hand.

    drawings/                  next to the run store, or $MNIST_DRAWINGS_DIR, or the CLI's --drawings DIR
        7_a81c.png             a 7: the name starts with the digit, then _ or -
        1-from-my-phone.jpg    a 1 (PNG or JPEG, any size)

An image holds one digit, light ink on a dark background as the canvas draws it; a dark-on-light
image (a scan, a photo of paper, black strokes on a transparent background) is recognised and
inverted. Every image then goes through the same MNIST-style preparation as a drawing
(core.drawings.preprocessing.preprocess_drawing), so the model sees a drawing the same way whichever way it came.

Every file here is a stranger's. A file that cannot be used (not an image, cut off, too large,
without a digit in its name, a link, a folder named like a file) is listed with the reason and
skipped; reading the folder never raises for what is in it, never follows a link out of it, and
refuses an image's pixels before decoding them when there are too many (a "decompression bomb":
a few kilobytes that unpack to gigabytes).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import secrets
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.config import NUM_CLASSES, is_sha256
from core.drawings.preprocessing import EmptyDrawing, ink_channel, preprocess_drawing
from core.runs.atomic_files import explain_os_error, write_bytes_atomic

DRAWINGS_DIR_ENV = "MNIST_DRAWINGS_DIR"
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
MAX_FILE_BYTES = 20 * 2**20  # a phone photo is 2-8 MB
# Pixels an image may declare, checked from its header before anything is decoded: a 12-megapixel photo.
# Pillow's own limit (Image.MAX_IMAGE_PIXELS, about 89 million) still refuses anything larger than
# twice that while opening; this app's limit is lower, so the server never holds more than about
# 100 MB for one image.
MAX_PIXELS = 4_000 * 3_000
WORKING_SIDE = 1_024  # larger images are shrunk to this longer side first: the digit ends up 20 px tall anyway
PNG_SIGNATURE, JPEG_SIGNATURE = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_LABELLED = re.compile(r"^([0-9])[_-]")


class DrawingSetError(RuntimeError):
    """The drawings folder itself cannot be read or written; the message names it and says why."""


class DrawingFileError(ValueError):
    """One file cannot be used as a drawing; the message is the reason, shown next to its name."""


@dataclass(frozen=True)
class Drawing:
    """One usable drawing: its file name, digit, the SHA-256 of its bytes, and the 28x28 image the model sees."""

    name: str
    label: int
    sha256: str
    image: np.ndarray  # float32 in [0, 1], read-only


@dataclass(frozen=True)
class Skipped:
    """A file of the folder that is not a usable drawing, and why (a sentence a person can act on)."""

    name: str
    reason: str


@dataclass(frozen=True)
class DrawingScan:
    """What the folder holds right now: usable drawings (by name) and the files skipped, with reasons."""

    folder: Path
    drawings: tuple[Drawing, ...]
    skipped: tuple[Skipped, ...]

    def counts(self) -> list[int]:
        """Drawings of each digit, 0 to 9."""
        counts = [0] * NUM_CLASSES
        for drawing in self.drawings:
            counts[drawing.label] += 1
        return counts

    @functools.cached_property
    def digest(self) -> str:
        """A short name for which drawings these are (names and contents): it changes when any of them does."""
        return hashlib.sha256("".join(f"{d.name}:{d.sha256};" for d in self.drawings).encode()).hexdigest()

    def of_digit(self, digit: int) -> list[Drawing]:
        return [drawing for drawing in self.drawings if drawing.label == digit]


def default_drawings_dir(runs_root: Path) -> Path:
    """$MNIST_DRAWINGS_DIR, else `drawings/` beside the run store's folder (absolute)."""
    folder = os.environ.get(DRAWINGS_DIR_ENV) or Path(runs_root).parent / "drawings"
    return Path(os.path.abspath(Path(folder).expanduser()))


def person_drawings_dir(drawings_dir: Path, owner: str) -> Path:
    """A person's own drawings on a class's server: the folder named by their owner (a SHA-256) in the drawings
    folder. Theirs to see, label and delete (and the teacher's); their trainings and fine-tunes use them."""
    if not is_sha256(owner):
        raise ValueError("owner must be 64 hexadecimal digits (core.runs.classroom makes them)")
    return Path(drawings_dir) / owner


def people_with_drawings(drawings_dir: Path) -> list[str]:
    """The owners that have a drawings folder in `drawings_dir` (for the teacher), in no particular order."""
    try:
        return [entry.name for entry in os.scandir(drawings_dir) if is_sha256(entry.name) and entry.is_dir()]
    except OSError:
        return []


def label_from_name(name: str) -> int:
    """The digit a file name starts with ("7_a81c.png" -> 7); DrawingFileError says what is wrong with it."""
    if Path(name).suffix.lower() not in FORMATS:
        raise DrawingFileError("is not a PNG or JPEG file (its name ends in neither .png, .jpg nor .jpeg)")
    match = _LABELLED.match(name)
    if match is None:
        raise DrawingFileError('has no digit in its name: name it after the digit, like "7_mine.png" or "7-2.jpg"')
    return int(match.group(1))


# --- from an image file to the 28x28 image ---------------------------------------------------


def _light_ink_picture(picture: Image.Image) -> np.ndarray:
    """Lightness in [0, 1] of an image with light ink on dark, whatever the image's way round.

    A partly transparent image is first laid on the background its ink stands out from (white under
    dark strokes, black under light ones). Then, if most of the image is light, the background is
    light: the image is inverted. Last, the background's level becomes 0 (a photo's grey paper).
    """
    rgba = np.asarray(picture.convert("RGBA"), dtype=np.float32) / 255.0
    light = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = rgba[..., 3]
    if alpha.min() < 1.0 and alpha.sum() > 0:
        ink_lightness = float((light * alpha).sum() / alpha.sum())
        background = 1.0 if ink_lightness < 0.5 else 0.0
        light = light * alpha + background * (1.0 - alpha)
    if np.median(light) > 0.5:
        light = 1.0 - light
    background = float(np.median(light))
    span = float(light.max()) - background
    if span <= 0:
        return np.zeros_like(light)
    return ((light - background) / span).clip(0.0, 1.0)


def _wide_range_to_grey(picture: Image.Image) -> Image.Image:
    """16- and 32-bit greyscale (modes I;16, I, F) scaled into 8 bits by its own range."""
    values = np.asarray(picture, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def prepare_image_file(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An image file's bytes -> the 28x28 float image the model sees (as a drawing is prepared).

    Raises DrawingFileError with the reason for anything that is not a PNG or JPEG of one digit.
    """
    try:
        with Image.open(io.BytesIO(data), formats=list(set(FORMATS.values()))) as picture:
            width, height = picture.size
            if width * height > max_pixels:
                raise DrawingFileError(
                    f"is {width:,}×{height:,} pixels; at most {max_pixels:,} pixels are read (shrink it first)"
                )
            picture.draft(None, (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a smaller scale at once
            picture.load()
            if picture.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                picture = _wide_range_to_grey(picture)
            elif picture.mode not in ("L", "LA", "RGB", "RGBA"):
                picture = picture.convert("RGBA")  # palette, 1-bit, CMYK...
            picture.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BOX)
            ink = _light_ink_picture(picture)
    except Image.DecompressionBombError:
        raise DrawingFileError("has too many pixels to be read safely") from None
    except UnidentifiedImageError:
        if data.startswith((PNG_SIGNATURE, JPEG_SIGNATURE)):
            raise DrawingFileError("is cut off or damaged, so it cannot be read as an image") from None
        raise DrawingFileError("is not a PNG or JPEG image (its content is something else)") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, MemoryError) as error:
        if isinstance(error, DrawingFileError):
            raise
        raise DrawingFileError("is cut off or damaged, so it cannot be read as an image") from None
    try:
        return preprocess_drawing(ink * 255.0).image
    except EmptyDrawing:
        raise DrawingFileError("has no digit in it: the image is blank, or holds only a dot") from None


@functools.lru_cache(maxsize=16_384)  # a class of 30 with a few hundred drawings each
def _read_drawing(path: str, signature: tuple, max_file_bytes: int, max_pixels: int) -> Drawing | Skipped:
    """One file as a drawing or a reason; cached by the file's identity (inode, size, times), so a page that
    lists the folder on every rerun decodes each image once."""
    name = os.path.basename(path)
    try:
        label = label_from_name(name)
        data = _read_plain_file(path, max_file_bytes)
        image = prepare_image_file(data, max_pixels)
    except DrawingFileError as reason:
        return Skipped(name, str(reason))
    image.flags.writeable = False
    return Drawing(name, label, hashlib.sha256(data).hexdigest(), image)


def _read_plain_file(path: str, max_bytes: int) -> bytes:
    """The bytes of a plain file in the folder: never through a link, never a device or a pipe, never too many."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise DrawingFileError(f"cannot be read ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DrawingFileError("is not a plain file")
        if info.st_size > max_bytes:
            raise DrawingFileError(f"is {info.st_size / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB are read")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # it grew while being read
                raise DrawingFileError(f"is larger than {max_bytes / 2**20:.0f} MB")
        return b"".join(chunks)
    except OSError as error:
        raise DrawingFileError(f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)


# --- the folder ------------------------------------------------------------------------------


class DrawingSet:
    """A person's drawings: the folder's image files, read as labelled 28x28 images.

    Args:
        folder: where the drawings are (made when the first drawing is saved).
        max_file_bytes: larger files are skipped unread (default MAX_FILE_BYTES, 20 MB).
        max_pixels: images declaring more pixels are skipped undecoded (default MAX_PIXELS, 12 million).

    Example:
        drawings = DrawingSet(default_drawings_dir(store.root))
        drawings.save(7, canvas_rgba)         # "7_3fa2b1c0.png"
        scan = drawings.scan()                # scan.drawings, scan.skipped
    """

    def __init__(self, folder: Path | str, max_file_bytes: int = MAX_FILE_BYTES, max_pixels: int = MAX_PIXELS):
        self.folder = Path(os.path.abspath(Path(folder).expanduser()))
        self.max_file_bytes, self.max_pixels = max_file_bytes, max_pixels

    def scan(self) -> DrawingScan:
        """Every usable drawing (sorted by name) and every skipped file with its reason.

        A missing folder holds no drawings. DrawingSetError only when the folder itself cannot be
        read (it is a file, or not ours to read). Names starting with a dot (this app's temporary
        files among them) are not drawings and are passed over in silence.
        """
        try:
            entries = sorted(os.scandir(self.folder), key=lambda entry: entry.name)
        except FileNotFoundError:
            return DrawingScan(self.folder, (), ())
        except NotADirectoryError:
            raise DrawingSetError(
                f"Cannot read your drawings from {self.folder}: it is a file, not a folder."
            ) from None
        except OSError as error:
            raise DrawingSetError(
                f"Cannot read your drawings from {self.folder}: {explain_os_error(error, self.folder)}."
            ) from None
        drawings, skipped = [], []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            result = self._read_entry(entry)
            (drawings if isinstance(result, Drawing) else skipped).append(result)
        return DrawingScan(self.folder, tuple(drawings), tuple(skipped))

    def _read_entry(self, entry: os.DirEntry) -> Drawing | Skipped:
        name = entry.name
        if not name.isprintable():
            shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in name)  # no terminal escapes
            return Skipped(shown, "has characters in its name that are not text")
        try:
            if entry.is_symlink():
                return Skipped(name, "is a link; only files in the folder itself are read")
            if entry.is_dir(follow_symlinks=False):
                return Skipped(name, "is a folder, not an image file")
            info = entry.stat(follow_symlinks=False)
        except OSError as error:
            return Skipped(name, f"cannot be read ({error.strerror or error})")
        if not stat.S_ISREG(info.st_mode):
            return Skipped(name, "is not a plain file")
        signature = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        return _read_drawing(str(self.folder / name), signature, self.max_file_bytes, self.max_pixels)

    def save(self, label: int, canvas: np.ndarray) -> str:
        """Save a canvas (RGBA, RGB or grey pixels; light ink on dark) as a drawing of `label`; returns its name.

        The file is the canvas's ink as a greyscale PNG, written atomically under a new name
        `<label>_<8 hex digits>.png`. Raises EmptyDrawing if there is no digit to save, ValueError for a
        label that is not a digit, DrawingSetError if the folder cannot be written.
        """
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < NUM_CLASSES:
            raise ValueError(f"A drawing's label is a digit from 0 to 9 (got {label!r}).")
        preprocess_drawing(canvas)  # EmptyDrawing: nothing worth keeping
        ink = (ink_channel(canvas) * 255.0).round().clip(0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(ink, "L").save(buffer, format="PNG", optimize=True)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for _ in range(100):
                name = f"{int(label)}_{secrets.token_hex(4)}.png"
                if not os.path.lexists(self.folder / name):
                    break
            write_bytes_atomic(self.folder / name, buffer.getvalue())
        except OSError as error:
            raise DrawingSetError(
                f"Could not save your drawing in {self.folder}: {explain_os_error(error, self.folder)}."
            ) from None
        return name

    def delete(self, name: str) -> None:
        """Delete one drawing by its file name; only a file directly in the folder, named like a drawing.

        Raises DrawingSetError when it is not one, or cannot be deleted.
        """
        plain = isinstance(name, str) and name == os.path.basename(name) and "\x00" not in name
        try:
            if not plain or name.startswith("."):
                raise DrawingFileError("not a file name")
            label_from_name(name)
        except DrawingFileError:
            raise DrawingSetError(f"{name!r} is not the name of a drawing in {self.folder}.") from None
        path = self.folder / name
        try:
            if path.is_symlink() or not path.is_file():
                raise DrawingSetError(f"{name} is not a drawing in {self.folder} (it may have been deleted already).")
            path.unlink()
        except OSError as error:
            raise DrawingSetError(f"Could not delete {name}: {explain_os_error(error, path)}.") from None
