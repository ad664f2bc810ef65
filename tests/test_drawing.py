"""Preprocessing of canvas drawings, checked against real MNIST digits."""

import numpy as np
import pytest
from PIL import Image

from core.drawings.preprocessing import BOX, EmptyDrawing, preprocess_drawing, shift
from core.training.data import bundled_mnist

CANVAS = 280


def blank_canvas() -> np.ndarray:
    canvas = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)
    canvas[..., 3] = 255  # the app paints a black background
    return canvas


def paint(canvas: np.ndarray, ink: np.ndarray, top: int, left: int) -> np.ndarray:
    region = canvas[top : top + ink.shape[0], left : left + ink.shape[1], :3]
    region[...] = np.maximum(region, ink[..., None])
    return canvas


def enlarged_on_canvas(digit: np.ndarray, height: int, top: int, left: int) -> np.ndarray:
    """An MNIST digit cropped to its ink, enlarged to `height` pixels and placed off-centre."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    big = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC))
    return paint(blank_canvas(), big, min(top, CANVAS - height), min(left, CANVAS - width))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


PLACEMENTS = [(120, 10, 20), (200, 70, 60), (90, 170, 150), (250, 15, 100)]  # height, top, left


@pytest.mark.parametrize("height, top, left", PLACEMENTS)
def test_enlarged_off_centre_mnist_digits_come_back_as_the_original(height, top, left):
    x_test = bundled_mnist()["x_test"]
    scores, aligned = [], []
    for digit in x_test[:30]:
        image = preprocess_drawing(enlarged_on_canvas(digit, height, top, left)).image
        scores.append(correlation(image, digit / 255.0))
        aligned.append(max(correlation(shift(image, r, c), digit / 255.0) for r in (-1, 0, 1) for c in (-1, 0, 1)))
    # Pearson correlation with the original 28x28 digit, pixel by pixel: typically >= 0.98 as is. A thin
    # digit whose centre of mass rounds to the neighbouring whole pixel scores lower until aligned by
    # that one pixel; then nine in ten digits are >= 0.9 and none below 0.85.
    assert np.median(scores) >= 0.98, scores
    assert np.mean(np.array(aligned) >= 0.9) >= 0.9 and min(aligned) >= 0.85, aligned


def test_the_model_reads_the_redrawn_digit_as_it_reads_the_original():
    import keras

    from core.config import TrainConfig
    from core.training.data import split_mnist
    from core.training.model import build_model

    splits = split_mnist(bundled_mnist(), train_limit=10_000)
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(hidden_layers=(128,)))
    model.fit(splits.x_train, splits.y_train, batch_size=128, epochs=3, verbose=0)
    originals = splits.x_test[:50]
    redrawn = np.stack(
        [
            preprocess_drawing(enlarged_on_canvas(bundled_mnist()["x_test"][i], 160, 60 + i, 30 + 2 * i)).image
            for i in range(50)
        ]
    )
    agree = (np.asarray(model(originals)).argmax(1) == np.asarray(model(redrawn)).argmax(1)).mean()
    assert agree >= 0.96


def test_output_is_mnist_shaped_float_with_a_20_pixel_box():
    canvas = enlarged_on_canvas(bundled_mnist()["x_test"][0], 150, 40, 40)
    image = preprocess_drawing(canvas).image
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() == 0.0 and image.max() == 1.0
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    assert BOX - 2 <= rows[-1] - rows[0] + 1 <= BOX + 1


def test_empty_canvas_gives_a_hint_not_a_prediction():
    with pytest.raises(EmptyDrawing, match="empty"):
        preprocess_drawing(blank_canvas())
    transparent = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)  # no background painted at all
    with pytest.raises(EmptyDrawing):
        preprocess_drawing(transparent)


def test_nearly_empty_canvas_with_faint_haze_is_empty():
    canvas = blank_canvas()
    canvas[100:110, 100:110, :3] = 12  # below the ink threshold
    with pytest.raises(EmptyDrawing):
        preprocess_drawing(canvas)


def test_a_single_dot_is_not_a_digit():
    canvas = blank_canvas()
    rows, cols = np.indices((CANVAS, CANVAS))
    canvas[(rows - 140) ** 2 + (cols - 140) ** 2 <= 81, :3] = 255  # one brush dab, 18 px wide
    with pytest.raises(EmptyDrawing, match="dot"):
        preprocess_drawing(canvas)


def test_a_digit_touching_the_border_is_kept_whole():
    canvas = blank_canvas()
    canvas[0:CANVAS, 0:18, :3] = 255  # a "1" along the left edge, top to bottom
    result = preprocess_drawing(canvas)
    assert result.bbox == (0, 0, CANVAS, 18)
    columns = np.flatnonzero(result.image.max(axis=0) > 0.1)
    rows = np.flatnonzero(result.image.max(axis=1) > 0.1)
    assert len(rows) == BOX and 1 <= len(columns) <= 3
    assert abs((columns[0] + columns[-1]) / 2 - 13.5) <= 1  # centred, not stuck to the edge


@pytest.mark.parametrize("shape", [(18, 260), (260, 18)])
def test_very_wide_or_tall_strokes_keep_their_aspect_ratio(shape):
    canvas = paint(blank_canvas(), np.full(shape, 255, np.uint8), 10, 10)
    image = preprocess_drawing(canvas).image
    ink = image > 0.1
    height, width = ink.any(axis=1).sum(), ink.any(axis=0).sum()
    assert max(height, width) == BOX and min(height, width) <= 3
    mass = np.array(np.nonzero(image)).mean(axis=1)
    assert np.all(np.abs(mass - 13.5) <= 1)
