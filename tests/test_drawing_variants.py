"""The variants a drawing is repeated as when it teaches: each a digit the Draw page could have produced."""

import numpy as np
import pytest

from core.drawings.preprocessing import BOX, FIELD, INK_THRESHOLD, preprocess_drawing
from core.training.drawing_variants import Variation, vary
from tests.conftest import line_canvas, square_canvas

STILL = Variation(rotate_degrees=0, slant=0, stretch=0, wobble_pixels=0, thickness=0)


@pytest.fixture(scope="module")
def drawings():
    rng = np.random.default_rng(3)
    canvases = [square_canvas(rng) for _ in range(3)] + [line_canvas(rng) for _ in range(3)]
    return np.stack([preprocess_drawing(canvas).image for canvas in canvases])


def angle_of_ink(image: np.ndarray) -> float:
    """Degrees from upright of the ink's main axis (positive: the top leans right)."""
    rows, cols = np.nonzero(image > 0.5)
    rows, cols = rows - rows.mean(), cols - cols.mean()
    _, vectors = np.linalg.eigh(np.cov(np.stack([rows, cols])))
    down, right = vectors[:, -1]
    return float(np.degrees(np.arctan2(-right, down))) if down > 0 else float(np.degrees(np.arctan2(right, -down)))


def test_without_variation_a_drawing_comes_back_unchanged(drawings):
    assert np.allclose(vary(drawings, np.random.default_rng(0), STILL), drawings, atol=1e-5)


def test_every_variant_is_prepared_like_a_drawing(drawings):
    variants = vary(np.repeat(drawings, 40, axis=0), np.random.default_rng(1))
    assert variants.shape == (240, FIELD, FIELD) and variants.dtype == np.float32
    assert variants.min() >= 0 and np.allclose(variants.max(axis=(1, 2)), 1.0)
    rows, cols = np.indices((FIELD, FIELD))
    for variant in variants:
        mass = variant.sum()
        centre = ((rows * variant).sum() / mass, (cols * variant).sum() / mass)
        assert np.allclose(centre, FIELD / 2, atol=0.5 + 1e-6)  # whole-pixel moves, as preprocess_drawing makes
        marked_rows = np.flatnonzero((variant > INK_THRESHOLD).any(axis=1))
        marked_cols = np.flatnonzero((variant > INK_THRESHOLD).any(axis=0))
        longer = max(marked_rows[-1] - marked_rows[0], marked_cols[-1] - marked_cols[0]) + 1
        assert BOX - 2 <= longer <= BOX + 2  # a thicker pen may reach a pixel past each side


def test_variants_keep_their_drawings_pen_on_average(drawings):
    # Leaning and wobbling thin the strokes once the digit is scaled back into its box; a network taught on
    # thinner variants would learn "thin" as part of the style and miss the drawings themselves.
    variants = vary(np.repeat(drawings, 200, axis=0), np.random.default_rng(5)).reshape(6, 200, FIELD, FIELD)
    ratios = variants.sum(axis=(2, 3)) / drawings.sum(axis=(1, 2))[:, None]
    assert abs(ratios.mean() - 1) < 0.06 and np.allclose(ratios.mean(axis=1), 1, atol=0.12)
    assert ratios.min() < 0.8 and ratios.max() > 1.2  # yet the pen itself varies


def test_variants_differ_from_their_drawing_and_from_each_other(drawings):
    variants = vary(np.repeat(drawings, 20, axis=0), np.random.default_rng(2)).reshape(6, 20, FIELD, FIELD)
    for drawing, own in zip(drawings, variants):
        assert np.abs(own - drawing).mean(axis=(1, 2)).min() > 0.005  # none is a copy
        assert len({variant.tobytes() for variant in own}) == 20

    # ...and they still look more like their own drawing than like the other kind of digit.
    def blurred(images):  # a 5x5 mean: thin strokes a pixel apart still overlap
        padded = np.pad(images.reshape(-1, FIELD, FIELD), ((0, 0), (2, 2), (2, 2)))
        return sum(padded[:, r : r + FIELD, c : c + FIELD] for r in range(5) for c in range(5))

    def likeness(images, drawing):
        flat, target = blurred(images).reshape(len(images), -1), blurred(drawing).ravel()
        return flat @ target / (np.linalg.norm(flat, axis=1) * np.linalg.norm(target))

    # Other people's hands move far enough that a rare variant may look more like the other kind: nine in ten not.
    square, line = drawings[0], drawings[3]
    assert (likeness(variants[0], square) > likeness(variants[0], line)).mean() >= 0.9
    assert (likeness(variants[3], line) > likeness(variants[3], square)).mean() >= 0.9


def test_rotation_and_slant_lean_an_upright_stroke_both_ways_within_their_bounds():
    upright = np.zeros((FIELD, FIELD), np.float32)
    upright[4:24, 13:15] = 1.0
    for variation, bound in (
        (Variation(**{**STILL.__dict__, "rotate_degrees": 12}), 12),
        (
            Variation(**{**STILL.__dict__, "slant": 0.3}),
            np.degrees(np.arctan(0.3)),
        ),
    ):
        angles = [
            angle_of_ink(v) for v in vary(np.repeat(upright[None], 200, axis=0), np.random.default_rng(4), variation)
        ]
        assert max(np.abs(angles)) <= bound + 3  # a stroke two pixels wide measures within a few degrees
        assert min(angles) < -bound / 2 and max(angles) > bound / 2


def test_the_wobble_bends_a_stroke_smoothly_within_its_bound():
    upright = np.zeros((FIELD, FIELD), np.float32)
    upright[4:24, 13:15] = 1.0

    def bends(variation):  # per variant: the stroke's largest departure from its own straight line, in pixels
        out = []
        for variant in vary(np.repeat(upright[None], 100, axis=0), np.random.default_rng(6), variation):
            rows = np.flatnonzero(variant.sum(axis=1) > 0.5)
            centres = np.array([(variant[r] * np.arange(FIELD)).sum() / variant[r].sum() for r in rows])
            line = np.polyval(np.polyfit(rows, centres, 1), rows)
            out.append(np.abs(centres - line).max())
        return np.array(out)

    wobble = Variation(**{**STILL.__dict__, "wobble_pixels": 4.8})
    straight, bent = bends(STILL), bends(wobble)
    assert straight.max() < 0.2
    assert np.median(bent) > 0.25 and bent.max() <= 4.8  # bent, as a hand bends a stroke, never past the bound
    assert np.median(bends(Variation(**{**STILL.__dict__, "wobble_pixels": 1.2}))) < np.median(bent) / 3
