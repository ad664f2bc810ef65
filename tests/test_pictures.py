"""Pictures drawn on the server: colours mean what the captions say; the map says where a point lands."""

import numpy as np

from core.views import pictures
from core.views.pictures import HIDPI, MARKER_RADIUS


def is_red(rgb) -> bool:
    return rgb[0] > 150 and rgb[2] < 100


def is_blue(rgb) -> bool:
    return rgb[2] > 150 and rgb[0] < 100


def test_weight_tiles_are_red_for_positive_blue_for_negative_and_white_for_zero():
    weights = np.zeros((3, 28, 28), np.float32)
    weights[0, 10, 10] = 1.0
    weights[1, 10, 10] = -1.0
    weights[2] = np.random.default_rng(0).normal(0, 0.01, (28, 28))
    grid = pictures.weight_grid(weights, columns=3)
    tile, gap = 28, 2
    centre = lambda i, row, col: grid[gap + row, gap + i * (tile + gap) + col]  # noqa: E731
    assert is_red(centre(0, 10, 10)) and is_blue(centre(1, 10, 10))
    assert (centre(0, 0, 0) > 230).all()  # zero: near white
    assert grid.shape == (tile + 2 * gap, 3 * tile + 4 * gap, 3)


def test_a_wrong_guess_is_framed_red_a_right_one_green():
    digit = np.zeros((28, 28), np.uint8)
    assert tuple(pictures.digit_tile(digit, right=False)[0, 0]) == pictures.WRONG_COLOUR
    assert tuple(pictures.digit_tile(digit, right=True)[0, 0]) == pictures.RIGHT_COLOUR


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
    assert stacked.shape[0] > block.shape[0] and stacked[0, 0].tolist() == [0xFD, 0xE7, 0x25, 255]
    assert (stacked[block.shape[0] :, :, 3][: 10 * HIDPI] == 0).all()  # the gap: the page shows through
    tight = pictures.activation_blocks([values, values[:20]], width=100, gap=2)
    assert stacked.shape[0] - tight.shape[0] == (10 - 2) * HIDPI  # the gap between the layers' blocks


# Machado, Oliveira & Fernandes (2009): how linear RGB looks to a reader with each colour-vision deficiency
# at full severity.
DEFICIENCIES = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def cielab(linear_rgb: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of a linear-RGB colour."""
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ linear_rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_maps_ten_digit_colours_stay_apart_for_colour_blind_readers():
    srgb = np.array([pictures._rgb(c) for c in pictures.DIGIT_COLOURS]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    assert len(set(pictures.DIGIT_COLOURS)) == 10
    for name, matrix in {"typical vision": np.eye(3), **DEFICIENCIES}.items():
        seen = [cielab(np.clip(np.asarray(matrix) @ colour, 0, 1)) for colour in linear]
        closest = min(np.linalg.norm(seen[a] - seen[b]) for a in range(10) for b in range(a + 1, 10))
        # 12 units of CIE76 distance: two dots that differ that much are told apart at a glance
        assert closest > 12, f"two digits' colours look alike with {name} (distance {closest:.1f})"


def test_the_map_places_points_where_their_dots_are_and_leaves_black_to_the_ring():
    rng = np.random.default_rng(0)
    points, labels = rng.normal(size=(400, 2)), rng.integers(0, 10, 400)
    picture = pictures.map_picture(points, labels, size=200)
    rgba = np.asarray(picture.background.convert("RGBA")).astype(int)
    rgb, drawn = rgba[..., :3], rgba[..., 3] > 0
    assert 0.02 < drawn.mean() < 0.5  # dots and names on a transparent background: the page shows through
    assert (rgb[drawn].sum(axis=1) > 60).all()  # nothing near black: the ring shown over it stands out
    lonely = int(np.argmin(points[:, 1]))  # the lowest point: its dot is not covered by others
    x, y = picture.to_pixels(points[lonely])
    colour = pictures._rgb(pictures.DIGIT_COLOURS[labels[lonely]])
    assert np.abs(rgb[round(y), round(x)] - colour).sum() < 30
    here, there = np.array([-1.0, -1.0]), np.array([1.5, 0.5])
    assert picture.fraction(here) == [round(v / (200 * HIDPI), 4) for v in picture.to_pixels(here)]
    x, y = picture.fraction(np.array([100.0, -100.0]))  # far off the map: kept on its edge, the whole ring inside
    assert x == y == round(1 - MARKER_RADIUS / 200, 4)
    assert picture.fraction(here)[1] > picture.fraction(there)[1]  # up on the map is up in the picture
