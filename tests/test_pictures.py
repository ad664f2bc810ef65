"""Pictures drawn on the server: colours mean what the captions say; the map's ring is where the drawing lands."""

import numpy as np

from core import pictures
from core.pictures import HIDPI, MARKER_RADIUS


def is_red(rgb) -> bool:
    return rgb[0] > 150 and rgb[2] < 100


def is_blue(rgb) -> bool:
    return rgb[2] > 150 and rgb[0] < 100


def test_weight_tiles_are_red_for_positive_blue_for_negative_and_white_for_zero():
    weights = np.zeros((3, 28, 28), np.float32)
    weights[0, 10, 10] = 1.0
    weights[1, 10, 10] = -1.0
    weights[2] = np.random.default_rng(0).normal(0, 0.01, (28, 28))
    grid = pictures.weight_grid(weights, columns=3, pixel=1)
    tile, gap = 28 * HIDPI, 3 * HIDPI
    centre = lambda i, row, col: grid[gap + row * HIDPI, gap + i * (tile + gap) + col * HIDPI]  # noqa: E731
    assert is_red(centre(0, 10, 10)) and is_blue(centre(1, 10, 10))
    assert (centre(0, 0, 0) > 230).all()  # zero: near white
    assert grid.shape == (tile + 2 * gap, 3 * tile + 4 * gap, 3)


def test_a_wrong_guess_is_framed_red_a_right_one_green():
    digit = np.zeros((28, 28), np.uint8)
    assert tuple(pictures.digit_tile(digit, right=False)[0, 0]) == pictures.WRONG_COLOUR
    assert tuple(pictures.digit_tile(digit, right=True)[0, 0]) == pictures.RIGHT_COLOUR


def test_the_chosen_digits_bar_is_orange_and_as_tall_as_its_probability():
    probabilities = np.full(10, 0.02)
    probabilities[3] = 0.82
    bars = pictures.probability_bars(probabilities)
    height, width = bars.shape[:2]
    column = bars[:, int(width * 3.5 / 10)]
    orange = np.flatnonzero((np.abs(column.astype(int) - pictures.CHOSEN_COLOUR).sum(axis=1)) < 10)
    assert orange.size
    baseline = height - 18 * HIDPI
    assert abs((baseline - orange.min()) / (baseline - 16 * HIDPI) - 0.82) < 0.03


def test_activation_cells_are_one_per_neuron_brightest_where_it_fires_most():
    values = np.zeros(50, np.float32)
    values[0] = 5.0
    block = pictures.activation_block(values, width=100)
    across = int(np.ceil(np.sqrt(50 * 8)))
    cell = (100 * HIDPI) // across
    assert block.shape[:2] == (-(-50 // across) * cell, across * cell)
    assert block[0, 0].tolist() == [0xFD, 0xE7, 0x25]  # the top of the colour scale
    assert block[0, cell].tolist() == [0x44, 0x01, 0x54]  # silent: the bottom
    stacked = pictures.activation_blocks([values, values[:20]], width=100)
    assert stacked.shape[0] > block.shape[0] and stacked[0, 0].tolist() == [0xFD, 0xE7, 0x25]


def black_pixels(image) -> tuple[np.ndarray, np.ndarray]:
    """(columns, rows) of the pure black pixels: only the ring is pure black."""
    rows, cols = np.nonzero(np.asarray(image.convert("RGB")).astype(int).sum(axis=2) == 0)
    return cols, rows


def black_centre(image) -> np.ndarray:
    cols, rows = black_pixels(image)
    return np.array([cols.mean(), rows.mean()])


def test_the_maps_ring_is_drawn_where_the_point_lands_and_moves_with_it():
    rng = np.random.default_rng(0)
    points, labels = rng.normal(size=(400, 2)), rng.integers(0, 10, 400)
    picture = pictures.map_picture(points, labels, size=200)
    assert black_pixels(picture.with_marker(None))[0].size == 0  # no ring without a drawing: nothing is black
    here, there = np.array([-1.0, -1.0]), np.array([1.5, 0.5])
    np.testing.assert_allclose(black_centre(picture.with_marker(here)), picture.to_pixels(here), atol=1.5)
    np.testing.assert_allclose(black_centre(picture.with_marker(there)), picture.to_pixels(there), atol=1.5)
    x, y = picture.to_pixels(np.array([100.0, -100.0]))  # far off the map: kept on its edge
    assert (x, y) == (200 * HIDPI - MARKER_RADIUS * HIDPI, 200 * HIDPI - MARKER_RADIUS * HIDPI)
    assert picture.to_pixels(here)[1] > picture.to_pixels(there)[1]  # up on the map is up in the picture
