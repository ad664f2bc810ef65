"""The real handwriting the teaching benchmark uses (bench/pendigits.py): read as data/README.md says, drawn
upright on a canvas like the Draw page's."""

from collections import Counter

import numpy as np
import pytest

from bench import pendigits
from core.drawings.preprocessing import CANVAS_PIXELS, preprocess_drawing


@pytest.fixture(scope="module")
def parts():
    return {part: pendigits.read(part) for part in ("tra", "tes")}


def test_the_two_parts_hold_the_published_digits_by_writers_kept_apart(parts):
    assert [len(parts[p]) for p in ("tra", "tes")] == [7_494, 3_498]
    writers = {p: {d.writer for d in digits} for p, digits in parts.items()}
    assert len(writers["tra"]) == 30 and len(writers["tes"]) == 14 and not writers["tra"] & writers["tes"]
    counts = Counter(d.label for d in parts["tes"])
    assert sorted(counts) == list(range(10)) and min(counts.values()) > 300
    assert all(d.strokes and all(len(s) and s.shape[1] == 2 for s in d.strokes) for d in parts["tes"])


def test_a_digit_is_drawn_upright_like_a_drawing(parts):
    # The tablet's y points up and the canvas's down: a 7's bar, drawn first, must be at the top.
    seven = next(d for d in parts["tes"] if d.label == 7)
    canvas = pendigits.draw(seven)
    assert canvas.shape == (CANVAS_PIXELS, CANVAS_PIXELS, 4)
    ink = canvas[..., 0] > 127
    first = seven.strokes[0]
    start_row = int((pendigits.BOX - first[0][1]) * CANVAS_PIXELS / pendigits.BOX)
    rows = np.flatnonzero(ink.any(axis=1))
    assert rows[0] <= start_row < rows[0] + (rows[-1] - rows[0]) / 3
    assert preprocess_drawing(canvas).image.max() == 1.0
