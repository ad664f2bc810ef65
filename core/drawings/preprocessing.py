"""Turn a canvas drawing into a 28x28 MNIST-style image, the way MNIST itself was made.

MNIST digits were size-normalised to fit a 20x20 box (keeping their aspect
ratio, with anti-aliasing, hence grey edges) and then centred in a 28x28 field
by their centre of mass. A drawing gets exactly that treatment; a plain resize
of the whole canvas would leave small or off-centre digits tiny and misplaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

FIELD = 28  # pixels of the MNIST image
CANVAS_PIXELS = 280  # the Draw page's canvas, square
# A digit drawn about 200 px tall is scaled by 20/200 into MNIST's 20 px box: a 20 px brush
# becomes a 2 px stroke, as thick as MNIST's pen.
BRUSH_PIXELS = 20
BOX = 20  # the longer side of the digit inside it
INK_THRESHOLD = 0.1  # of full intensity: fainter pixels are background (antialiasing haze)
MIN_EXTENT = 0.08  # of the canvas: a mark smaller than this is a dot, not a digit


@dataclass(frozen=True)
class Preprocessed:
    """The 28x28 image (float32, 0 = background, 1 = ink) and where the ink was on the canvas."""

    image: np.ndarray
    bbox: tuple[int, int, int, int]  # top, left, bottom, right (exclusive), canvas pixels


class EmptyDrawing(ValueError):
    """Nothing (or only a dot) was drawn; the message is a hint for the person."""


def ink_channel(canvas: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] from an RGBA (or RGB, or grey) canvas of light strokes on dark.

    Transparent pixels count as background, so it works whether or not the
    canvas paints its background.
    """
    pixels = np.asarray(canvas, dtype=np.float32)
    if pixels.ndim == 2:
        return pixels / 255.0
    ink = pixels[..., :3].mean(axis=2) / 255.0
    if pixels.shape[2] == 4:
        ink *= pixels[..., 3] / 255.0
    return ink


def center_of_mass_shift(image: np.ndarray) -> tuple[int, int]:
    """Whole-pixel (rows, cols) shift that moves the intensity centre of mass to the field's centre."""
    total = image.sum()
    rows, cols = np.indices(image.shape)
    centre = np.array(image.shape) / 2  # MNIST's convention: (14, 14), measured on its digits
    mass = np.array([(rows * image).sum(), (cols * image).sum()]) / total
    return tuple(int(round(v)) for v in centre - mass)


def shift(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Translate without wrapping; what moves out of the field is dropped."""
    out = np.zeros_like(image)
    h, w = image.shape
    src = image[max(0, -rows) : h - max(0, rows), max(0, -cols) : w - max(0, cols)]
    out[max(0, rows) : max(0, rows) + src.shape[0], max(0, cols) : max(0, cols) + src.shape[1]] = src
    return out


def preprocess_drawing(canvas: np.ndarray) -> Preprocessed:
    """Canvas pixels -> the 28x28 float image the model sees.

    Steps: take the ink channel; crop to the ink's bounding box; scale the
    longer side to 20 px, keeping the aspect ratio, with area-averaging
    anti-aliasing; paste into 28x28; shift so the centre of mass is central.
    Raises EmptyDrawing when there is no ink, or only a dot.
    """
    ink = ink_channel(canvas)
    marked = ink > INK_THRESHOLD
    if not marked.any():
        raise EmptyDrawing("Draw a digit on the canvas: it is empty.")
    rows, cols = np.flatnonzero(marked.any(axis=1)), np.flatnonzero(marked.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if max(bottom - top, right - left) < MIN_EXTENT * max(ink.shape):
        raise EmptyDrawing("That looks like a dot. Draw a digit that fills a good part of the canvas.")
    crop = ink[top:bottom, left:right]
    scale = BOX / max(crop.shape)
    height, width = (max(1, round(side * scale)) for side in crop.shape)
    small = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BOX), dtype=np.float32)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    y, x = (FIELD - height) // 2, (FIELD - width) // 2
    field[y : y + height, x : x + width] = small
    field = shift(field, *center_of_mass_shift(field))
    peak = field.max()
    if peak > 0:
        field = field / peak  # a faint pen reads like a full stroke, as in MNIST
    return Preprocessed(image=field.clip(0.0, 1.0), bbox=(int(top), int(left), int(bottom), int(right)))
