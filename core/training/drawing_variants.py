"""Vary a drawing the way hands vary: one person's from one time to the next, and the next person's.

Ten examples of a digit teach a style only if the network sees each of them written many ways: more
upright or more slanted, rounder or narrower, with the strokes bent out of line (a smooth, "elastic"
displacement, the change that reading other people's digits gained most from: docs/benchmarks.md has the
search) and a thicker or finer pen. Each variant is then prepared again like a drawing (cropped to its
ink, scaled into MNIST's 20x20 box and centred by its centre of mass, core.drawings.preprocessing), so it
is a digit the Draw page could have produced, never one cut at the edge or off centre. MNIST's own
augmentation (the Augment setting, Keras layers) is milder: its digits are already many writers'.

All numpy, a batch at once: the training worker makes every repeat of a drawing its own variant, before
training (core.training.teaching.training_arrays).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.drawings.preprocessing import BOX, FIELD, INK_THRESHOLD, center_of_mass_shift, shift


@dataclass(frozen=True)
class Variation:
    """How far a variant may move from its drawing; each amount is drawn uniformly within +-."""

    rotate_degrees: float = 20.0
    slant: float = 0.5  # horizontal shear: x moves by slant * y (y in pixels from the centre)
    stretch: float = 0.25  # width against height, as a fraction
    wobble_pixels: float = 4.8  # the largest move of the smooth random displacement ("elastic")
    wobble_smoothness: float = 4.0  # pixels: the displacement's Gaussian width; larger is smoother
    thickness: float = 0.5  # the pen's ink, times a factor from 1 / (1 + thickness) to 1 + thickness


def vary(images: np.ndarray, rng: np.random.Generator, variation: Variation = Variation()) -> np.ndarray:
    """Variants of `images` ((n, 28, 28) floats in [0, 1], ink light on dark), one each, prepared like drawings."""
    n = len(images)
    source = _source_coordinates(n, rng, variation)
    # Where the moved ink lies decides how it is scaled and placed; the pixels are then read once, from the
    # drawing itself through both maps, so the variant is as sharp as the drawing (reading twice blurs).
    placed, inside = _placing_coordinates(_sample(images, source))
    variants = np.where(inside, _sample(images, _sample_field(source, placed)), np.float32(0))
    variants = _full_strength(variants, images)
    # The moves thin the strokes (a leaning digit is scaled down to fit the box), which a network would learn
    # as part of the style; the pen is put back to the drawing's ink, times a random change of its own.
    change = np.exp(rng.uniform(-np.log1p(variation.thickness), np.log1p(variation.thickness), n))
    variants = _full_strength(_with_ink(variants, images.sum(axis=(1, 2)) * change), images)
    variants = np.stack([shift(v, *center_of_mass_shift(v)) for v in variants])
    return variants.clip(0.0, 1.0).astype(np.float32)


def _full_strength(variants: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """Each variant scaled so its strongest pixel is 1, as a drawing is; its drawing where it has too little ink."""
    peak = variants.max(axis=(1, 2), keepdims=True)
    ok = peak > INK_THRESHOLD
    return np.where(ok, variants / np.where(ok, peak, 1), originals).clip(0.0, 1.0).astype(np.float32)


def _source_coordinates(n: int, rng: np.random.Generator, variation: Variation) -> np.ndarray:
    """(n, 28, 28, 2): for each output pixel, the (row, col) of the drawing it is read from."""
    centre = (FIELD - 1) / 2
    rows, cols = np.mgrid[0:FIELD, 0:FIELD].astype(np.float64) - centre
    angle = np.radians(rng.uniform(-variation.rotate_degrees, variation.rotate_degrees, n))
    slant = rng.uniform(-variation.slant, variation.slant, n)
    stretch = 1 + rng.uniform(-variation.stretch, variation.stretch, n)
    # The output pixel (r, c) shows the drawing's point that the forward map (slant, then stretch, then
    # rotation) sends there: undo the rotation, then the stretch, then the slant.
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    r = cos * rows + sin * cols
    c = -sin * rows + cos * cols
    c = c / stretch[:, None, None]
    c = c - slant[:, None, None] * r
    wobble = _smooth_noise(n, rng, variation.wobble_smoothness)
    peak = np.abs(wobble).max(axis=(1, 2, 3), keepdims=True) + 1e-9
    wobble *= variation.wobble_pixels / peak * rng.uniform(0, 1, (n, 1, 1, 1))
    return np.stack([r + centre, c + centre], axis=-1) + wobble


def _smooth_noise(n: int, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """(n, 28, 28, 2) random displacements blurred by a Gaussian of `sigma` pixels (Simard et al.'s elastic)."""
    offsets = np.arange(FIELD)
    kernel = np.exp(-((offsets[:, None] - offsets[None, :]) ** 2) / (2 * sigma**2))
    kernel /= kernel.sum(axis=1, keepdims=True)
    noise = rng.uniform(-1, 1, (n, FIELD, FIELD, 2))
    return np.einsum("ij,njkd,lk->nild", kernel, noise, kernel, optimize=True)


def _sample(images: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Bilinear reads of `images` at `source` ((n, 28, 28, 2) row, col); outside the field is background."""
    n = len(images)
    padded = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1)))  # a ring of background
    r = np.clip(source[..., 0] + 1, 0, FIELD + 0.999)
    c = np.clip(source[..., 1] + 1, 0, FIELD + 0.999)
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    r1, c1 = np.minimum(r0 + 1, FIELD + 1), np.minimum(c0 + 1, FIELD + 1)
    fr, fc = (r - r0).astype(np.float32), (c - c0).astype(np.float32)
    which = np.arange(n)[:, None, None]
    top = padded[which, r0, c0] * (1 - fc) + padded[which, r0, c1] * fc
    bottom = padded[which, r1, c0] * (1 - fc) + padded[which, r1, c1] * fc
    return top * (1 - fr) + bottom * fr


def _with_ink(images: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Each image's strokes made thicker (a blend towards its 3x3 grey dilation) or thinner (towards its erosion)
    until its total ink is `ink`, as near as one pixel's growth or loss allows."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    windows = [padded[:, dr : dr + FIELD, dc : dc + FIELD] for dr in range(3) for dc in range(3)]
    dilated, eroded = np.max(windows, axis=0), np.min(windows, axis=0)
    now = images.sum(axis=(1, 2))
    grow = np.clip((ink - now) / np.maximum(dilated.sum(axis=(1, 2)) - now, 1e-6), 0, 1)[:, None, None]
    shrink = np.clip((now - ink) / np.maximum(now - eroded.sum(axis=(1, 2)), 1e-6), 0, 1)[:, None, None]
    return images + grow * (dilated - images) - shrink * (images - eroded)


def _placing_coordinates(moved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each output pixel, where in `moved` it is read from so that the ink's box is scaled into BOX pixels in
    the middle of the field, as core.drawings.preprocessing.preprocess_drawing places a drawing; and whether
    that point is inside the box (outside it is background)."""
    marked = moved > INK_THRESHOLD
    marked[~marked.any(axis=(1, 2))] = True  # no ink at all: the whole field, so nothing divides by zero
    rows_marked, cols_marked = marked.any(axis=2), marked.any(axis=1)
    top, left = rows_marked.argmax(axis=1), cols_marked.argmax(axis=1)
    bottom = FIELD - rows_marked[:, ::-1].argmax(axis=1)
    right = FIELD - cols_marked[:, ::-1].argmax(axis=1)
    height, width = bottom - top, right - left
    scale = BOX / np.maximum(height, width)
    y = (FIELD - np.maximum(1, np.round(height * scale))) // 2  # where the scaled box starts in the field
    x = (FIELD - np.maximum(1, np.round(width * scale))) // 2
    centres = np.arange(FIELD) + 0.5
    rows = top[:, None] + (centres[None, :] - y[:, None]) / scale[:, None] - 0.5
    cols = left[:, None] + (centres[None, :] - x[:, None]) / scale[:, None] - 0.5
    placed = np.stack(np.broadcast_arrays(rows[:, :, None], cols[:, None, :]), axis=-1)
    inside = (placed[..., 0] > top[:, None, None] - 1) & (placed[..., 0] < bottom[:, None, None])
    inside &= (placed[..., 1] > left[:, None, None] - 1) & (placed[..., 1] < right[:, None, None])
    return placed, inside


def _sample_field(field: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Bilinear reads of a smooth (n, 28, 28, 2) field of coordinates at `at`, the edge value beyond the edge."""
    n = len(field)
    r = np.clip(at[..., 0], 0, FIELD - 1)
    c = np.clip(at[..., 1], 0, FIELD - 1)
    r0, c0 = np.minimum(np.floor(r).astype(int), FIELD - 2), np.minimum(np.floor(c).astype(int), FIELD - 2)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]
    which = np.arange(n)[:, None, None]
    top = field[which, r0, c0] * (1 - fc) + field[which, r0, c0 + 1] * fc
    bottom = field[which, r0 + 1, c0] * (1 - fc) + field[which, r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr
