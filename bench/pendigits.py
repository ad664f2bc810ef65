"""Real people's handwriting: UCI's pen-based digits, drawn on the Draw page's canvas.

44 writers each wrote 250 digits with a stylus on a tablet, inside boxes of 500x500 tablet pixels
(Alpaydin and Alimoglu, 1998; data/pendigits/README.md has the source and licence). The set keeps
the pen's path, so each digit is drawn again here stroke by stroke, the way a person draws it on the
Draw page: the box scaled onto the 280x280 canvas, white on black, with the canvas's round 20 px brush.
The file splits the writers: 30 in `tra`, 14 others in `tes`.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.drawings.preprocessing import BRUSH_PIXELS, CANVAS_PIXELS

FOLDER = Path(__file__).resolve().parent.parent / "data" / "pendigits"
BOX = 500  # the tablet's writing box, in tablet pixels; y points up


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: str  # "tra:12": the writer numbers restart in each file
    strokes: tuple[np.ndarray, ...]  # each (points, 2): x, y in the tablet's box


def read(part: str, folder: Path = FOLDER) -> list[PenDigit]:
    """The digits of `part` ("tra" or "tes"), in the file's order."""
    with gzip.open(folder / f"pendigits-orig.{part}.gz", "rt", encoding="ascii") as lines:
        return list(_parse(lines, part))


def _parse(lines, part: str):
    label = writer = None
    strokes: list[np.ndarray] = []
    points: list[tuple[int, int]] | None = None
    for line in lines:
        word = line.split()
        if not word:
            continue
        if word[0] == ".SEGMENT":
            if label is not None:
                yield PenDigit(label, writer, tuple(strokes))
            label, writer, strokes = int(word[-1].strip('"')), None, []
        elif word[0] == ".COMMENT":
            writer = f"{part}:{word[2]}"
        elif word[0] == ".PEN_DOWN":
            points = []
        elif word[0] == ".PEN_UP":
            if points:
                strokes.append(np.array(points, dtype=np.float32))
            points = None
        elif points is not None and not word[0].startswith("."):
            points.append((int(word[0]), int(word[1])))
    if label is not None:
        yield PenDigit(label, writer, tuple(strokes))


def draw(digit: PenDigit) -> np.ndarray:
    """The RGBA canvas the Draw page would hold after `digit`'s strokes."""
    scale = CANVAS_PIXELS / BOX
    image = Image.new("RGBA", (CANVAS_PIXELS, CANVAS_PIXELS), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    ink, radius = (255, 255, 255, 255), BRUSH_PIXELS / 2
    for stroke in digit.strokes:
        points = [(float(x) * scale, float(BOX - y) * scale) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=ink, width=BRUSH_PIXELS, joint="curve")
        for x, y in (points[0], points[-1]):  # the brush is round at both ends
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)
    return np.asarray(image)
