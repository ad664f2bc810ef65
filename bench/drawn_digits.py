"""A test set of digits drawn as pen strokes, not MNIST pixels pasted onto a canvas.

Each digit is one or two hand-shaped polylines in a unit box. Every sample gets
its own slant, shear, size, aspect, place on the 280x280 canvas, pen width and
point jitter, is rendered with a round pen like the canvas's, and goes through
the app's real preprocessing.

    python -m bench.drawn_digits MODEL.keras [MODEL.keras ...]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from PIL import Image, ImageDraw

from core.drawings.preprocessing import preprocess_drawing

CANVAS = 280


def _ellipse(cx, cy, rx, ry, start=0.0, turn=1.0, steps=28):
    return [
        (
            cx + rx * math.sin(start + turn * 2 * math.pi * i / steps),
            cy - ry * math.cos(start + turn * 2 * math.pi * i / steps),
        )
        for i in range(steps + 1)
    ]


STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.46)],
    1: [[(0.38, 0.18), (0.55, 0.04), (0.55, 0.96)]],
    2: [[(0.2, 0.25), (0.35, 0.07), (0.65, 0.07), (0.8, 0.27), (0.72, 0.5), (0.2, 0.95), (0.85, 0.95)]],
    3: [
        [
            (0.2, 0.12),
            (0.5, 0.04),
            (0.78, 0.2),
            (0.7, 0.42),
            (0.45, 0.5),
            (0.78, 0.62),
            (0.8, 0.85),
            (0.5, 0.97),
            (0.18, 0.88),
        ]
    ],
    4: [[(0.6, 0.04), (0.15, 0.65), (0.85, 0.65)], [(0.66, 0.3), (0.66, 0.97)]],
    5: [[(0.78, 0.06), (0.3, 0.06), (0.25, 0.45), (0.55, 0.4), (0.78, 0.55), (0.78, 0.8), (0.55, 0.96), (0.2, 0.88)]],
    6: [
        [
            (0.7, 0.04),
            (0.4, 0.25),
            (0.22, 0.6),
            (0.3, 0.88),
            (0.55, 0.96),
            (0.75, 0.8),
            (0.72, 0.6),
            (0.5, 0.5),
            (0.25, 0.62),
        ]
    ],
    7: [[(0.15, 0.08), (0.85, 0.08), (0.4, 0.96)]],
    8: [[(0.5 + 0.26 * math.sin(2 * t), 0.5 - 0.46 * math.cos(t)) for t in (2 * math.pi * i / 40 for i in range(41))]],
    9: [[(0.75, 0.3), (0.55, 0.07), (0.3, 0.12), (0.22, 0.35), (0.4, 0.5), (0.7, 0.42), (0.75, 0.3), (0.7, 0.96)]],
}


def render(digit: int, rng: np.random.Generator, strokes: dict | None = None) -> np.ndarray:
    """One RGBA canvas with `digit` drawn in white on black, with random pen and geometry.

    `strokes` is the alphabet (default STROKES): for each digit, its polylines in a unit box.
    """
    height = rng.uniform(70, 240)  # small to canvas-filling
    width = height * rng.uniform(0.5, 0.9)
    angle, shear = math.radians(rng.uniform(-20, 20)), rng.uniform(-0.35, 0.35)
    cx = rng.uniform(width / 2 + 10, CANVAS - width / 2 - 10)
    cy = rng.uniform(height / 2 + 10, CANVAS - height / 2 - 10)
    pen = int(rng.uniform(8, 34) * min(1.0, height / 140))  # a small digit is drawn with a finer pen
    image = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 255))
    draw = ImageDraw.Draw(image)
    for stroke in (strokes or STROKES)[digit]:
        points = []
        for x, y in stroke:
            x, y = (x - 0.5 + rng.normal(0, 0.015)) * width, (y - 0.5 + rng.normal(0, 0.015)) * height
            x += shear * y
            points.append(
                (cx + x * math.cos(angle) - y * math.sin(angle), cy + x * math.sin(angle) + y * math.cos(angle))
            )
        draw.line(points, fill=(255, 255, 255, 255), width=pen, joint="curve")
        for px, py in (points[0], points[-1]):
            draw.ellipse((px - pen / 2, py - pen / 2, px + pen / 2, py + pen / 2), fill=(255, 255, 255, 255))
    return np.asarray(image)


def drawn_digits(per_digit: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images as the model sees them, labels): `per_digit` generated drawings of each digit."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        for _ in range(per_digit):
            images.append(preprocess_drawing(render(digit, rng)).image)
            labels.append(digit)
    return np.stack(images), np.array(labels)


def accuracy(model_path: str, per_digit: int = 50) -> float:
    from core.drawings.inference import Classifier

    images, labels = drawn_digits(per_digit)
    return float((Classifier.load(model_path).predict(images).argmax(axis=1) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--per-digit", type=int, default=50)
    args = parser.parse_args()
    for path in args.models:
        print(f"{path}: {accuracy(path, args.per_digit):.1%} of {10 * args.per_digit} drawn digits")


if __name__ == "__main__":
    main()
