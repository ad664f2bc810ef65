"""Small pictures drawn on the server with numpy and Pillow, sent to the browser as PNG files.

Why pictures and not Plotly: a Plotly chart costs the browser tens of milliseconds of script each
time it is drawn, and the Draw page redraws after every stroke, the Train page once an epoch on
cores that also train. A PNG of a few kilobytes costs the browser almost nothing to show, and an
unchanged one is not even fetched again (Streamlit names media files by their content).

Where a picture has room around its content (gaps, a map's background, blank pixels), that room is
transparent: the page's own colour shows through, in the light theme and the dark one alike.

Pictures are drawn at twice the size they are shown (`HIDPI`), so they stay sharp on high-density
screens: pages show them at half their width in pixels (`shown_width`). The small digit tiles, shown
many to a row with captions, are the exception: drawn at their shown size.
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.config import NUM_CLASSES
from core.views import charts

HIDPI = 2


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


# The charts' colours, so the pages read as one app.
TRAIN_COLOUR = _rgb(charts.TRAIN_COLOUR)
CHOSEN_COLOUR = _rgb(charts.VALIDATION_COLOUR)  # the digit a model chose (the Draw page's bars)
RIGHT_COLOUR = (0x2E, 0x8B, 0x57)
WRONG_COLOUR = (0xD6, 0x27, 0x28)
GAP_COLOUR = (0xC9, 0xCF, 0xD6)  # a mid grey: seen on a light page and on a dark one
# ColorBrewer's RdBu, from strongly negative (blue) through zero (near white) to strongly positive (red).
DIVERGING = ["#2166AC", "#67A9CF", "#D1E5F0", "#F7F7F7", "#FDDBC7", "#EF8A62", "#B2182B"]
VIRIDIS = ["#440154", "#482878", "#3E4989", "#31688E", "#26828E", "#1F9E89", "#35B779", "#6ECE58", "#B5DE2B", "#FDE725"]
# One colour per digit: Petroff's ten-colour sequence (matplotlib's "petroff10"), chosen so that readers with
# any of the three colour-vision deficiencies still tell the ten apart; none is near black, which is kept for
# the drawing's marker on the map.
DIGIT_COLOURS = [
    "#3F90DA",
    "#FFA90E",
    "#BD1F01",
    "#94A4A2",
    "#832DB6",
    "#A96B59",
    "#E76300",
    "#B9AC70",
    "#717581",
    "#92DADD",
]
LABEL_HALO = (0x1F, 0x29, 0x33)  # the halo of the digits' names written on the map: dark, yet not black
MARKER_RADIUS = 12  # screen pixels: the ring the Draw page shows where a drawing lands (pages/components/drawing_panel)


def shown_width(picture: np.ndarray | Image.Image) -> int:
    """The width, in screen (CSS) pixels, to show a picture drawn at HIDPI times that size."""
    width = picture.size[0] if isinstance(picture, Image.Image) else np.asarray(picture).shape[1]
    return width // HIDPI


def colour_ramp(values: np.ndarray, colours: list[str]) -> np.ndarray:
    """Values in [0, 1] (clipped; NaN as 0) to RGB uint8, interpolating evenly spaced colours."""
    stops = np.asarray([_rgb(c) for c in colours], dtype=np.float32)
    t = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0).clip(0, 1) * (len(colours) - 1)
    low = np.minimum(t.astype(np.int64), len(colours) - 2)
    fraction = (t - low)[..., None]
    return np.round(stops[low] * (1 - fraction) + stops[low + 1] * fraction).astype(np.uint8)


def opaque(rgb: np.ndarray) -> np.ndarray:
    """An RGB picture as RGBA, every pixel solid."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=-1)


def on_page(picture: np.ndarray, page: tuple[int, int, int]) -> np.ndarray:
    """What an RGBA picture looks like on a page of colour `page` (RGB floats): how a browser shows it."""
    picture = np.asarray(picture, dtype=np.float32)
    alpha = picture[..., 3:] / 255
    return picture[..., :3] * alpha + np.asarray(page, np.float32) * (1 - alpha)


def png(picture: np.ndarray | Image.Image) -> bytes:
    """PNG bytes, quickly compressed: these pictures are small and made often."""
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture, dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_uri(picture: np.ndarray | Image.Image | bytes) -> str:
    """A picture (an RGB or grey array, a PIL image, or PNG bytes) as a `data:image/png` URI: how the pages'
    components take their pictures, inside their data (no second request to the server; a component swaps a
    picture only when its bytes changed). Small pictures go at one pixel a cell and the page enlarges them with
    hard edges (CSS `image-rendering: pixelated`), so they stay small to send."""
    data = picture if isinstance(picture, bytes) else png(picture)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _tiles(tiles: list[np.ndarray], columns: int, gap: int, background: tuple[int, int, int]) -> np.ndarray:
    """RGB tiles of one size in a grid, `gap` pixels apart, with a `gap` border."""
    height, width = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    grid = np.empty((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), dtype=np.uint8)
    grid[:] = background
    for i, tile in enumerate(tiles):
        top, left = gap + (i // columns) * (height + gap), gap + (i % columns) * (width + gap)
        grid[top : top + height, left : left + width] = tile
    return grid


def _enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel as a factor x factor block: hard edges, so the real pixels show."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


# --- Train: what the first layer looks for, its guesses --------------------------------------------


def weight_scale(weights: np.ndarray) -> float:
    """The weight shown at full colour: the 99th percentile of |weight|, so one outlier does not wash out the rest."""
    magnitudes = np.abs(np.nan_to_num(np.asarray(weights, dtype=np.float32)))
    scale = float(np.percentile(magnitudes, 99)) if magnitudes.size else 0.0
    return scale if scale > 0 else 1.0


def weight_grid(first_layer: np.ndarray, columns: int = 8) -> np.ndarray:
    """Each neuron's 784 incoming weights as a 28x28 tile, red positive, blue negative, white zero.

    One colour scale for every tile (`weight_scale`), so strong and weak neurons can be compared.
    Returns an RGB array, one pixel per weight and two between tiles: the page enlarges it with hard edges.
    """
    weights = np.asarray(first_layer, dtype=np.float32)
    normalised = (weights / weight_scale(weights) + 1) / 2  # -scale..+scale to 0..1, zero at the middle
    tiles = [colour_ramp(tile, DIVERGING) for tile in normalised]
    return _tiles(tiles, min(columns, len(tiles)), gap=2, background=GAP_COLOUR)


def neuron_favourites(weights: np.ndarray, digits: np.ndarray, scale: float, pixel: int = 2) -> np.ndarray:
    """One neuron's 784 weights as a tile in `weight_grid`'s colours (the same `scale`), then the digits (uint8,
    flat or 28x28) that make it fire most, in a row: drawn at its shown size, `pixel` screen pixels a pixel."""
    tile = colour_ramp((np.asarray(weights, dtype=np.float32).reshape(28, 28) / scale + 1) / 2, DIVERGING)
    greys = [np.repeat(np.asarray(d, np.uint8).reshape(28, 28)[..., None], 3, axis=2) for d in digits]
    return _enlarge(_tiles([tile, *greys], 1 + len(greys), gap=2, background=GAP_COLOUR), pixel)


def digit_tile(image: np.ndarray, right: bool, pixel: int = 2, frame: int = 3) -> np.ndarray:
    """An MNIST digit (uint8, light ink on black) in a green frame when guessed right, red when wrong.

    Drawn at its shown size (not HIDPI): twenty of them sit in a row of captioned images.
    """
    grey = _enlarge(np.asarray(image, dtype=np.uint8), pixel)
    border = frame
    tile = np.empty((grey.shape[0] + 2 * border, grey.shape[1] + 2 * border, 3), dtype=np.uint8)
    tile[:] = RIGHT_COLOUR if right else WRONG_COLOUR
    tile[border:-border, border:-border] = grey[..., None]
    return tile


# --- Draw: activations ---------------------------------------------------------------------------------


def activation_block(values: np.ndarray, width: int = 560) -> np.ndarray:
    """One hidden layer's activations for one drawing: a cell per neuron, in order, bright = fires strongly.

    A wide block (about 8 cells across for each one down), scaled to the layer's strongest neuron;
    cells past the last neuron stay the page's grey.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float32).ravel())
    across = int(np.ceil(np.sqrt(values.size * 8)))
    down = -(-values.size // across)
    cell = max(1, (width * HIDPI) // across)
    peak = float(np.abs(values).max())
    colours = colour_ramp(np.abs(values) / peak if peak > 0 else values * 0, VIRIDIS)
    grid = np.empty((down * across, 3), dtype=np.uint8)
    grid[:] = GAP_COLOUR
    grid[: values.size] = colours
    return _enlarge(grid.reshape(down, across, 3), cell)


def activation_blocks(activations: list[np.ndarray], width: int = 560, gap: int = 10) -> np.ndarray:
    """Every hidden layer's `activation_block`, first layer on top, `gap` apart (transparent), in one RGBA picture:
    one image to swap per stroke."""
    blocks = [activation_block(values, width) for values in activations]
    gap *= HIDPI
    widest = max(block.shape[1] for block in blocks)
    picture = np.zeros((sum(block.shape[0] for block in blocks) + gap * (len(blocks) - 1), widest, 4), np.uint8)
    top = 0
    for block in blocks:
        picture[top : top + block.shape[0], : block.shape[1]] = opaque(block)
        top += block.shape[0] + gap
    return picture


# --- Draw: where a drawing lands ----------------------------------------------------------------------


@dataclass(frozen=True)
class MapPicture:
    """The hidden map's 2,000 digits drawn once, as a palette image (PNG-encodes several times faster than
    the same picture in RGB). A drawing's place is shown over it by the page, not drawn into it:
    the picture stays the same for every stroke. `origin` and `scale` turn map coordinates into picture
    pixels (y grows upwards on the map, downwards in the picture). Never changed once made: one picture
    serves every session.
    """

    background: Image.Image
    origin: tuple[float, float]
    scale: float

    def to_pixels(self, point: np.ndarray) -> tuple[float, float]:
        """Picture (x, y) pixels of a map point, kept a marker's radius inside the picture."""
        width, height = self.background.size
        x = (float(point[0]) - self.origin[0]) * self.scale
        y = height - (float(point[1]) - self.origin[1]) * self.scale
        margin = MARKER_RADIUS * HIDPI
        return min(max(x, margin), width - margin), min(max(y, margin), height - margin)

    def fraction(self, point: np.ndarray) -> list[float]:
        """Where a map point is, as fractions [x, y] of the picture's width and height from its top left."""
        x, y = self.to_pixels(point)
        width, height = self.background.size
        return [round(x / width, 4), round(y / height, 4)]


def map_picture(points: np.ndarray, labels: np.ndarray, size: int = 380, seed: int = 0) -> MapPicture:
    """2-D points as small dots coloured by their digit, each digit's name written at the middle of its dots, on a
    transparent background."""
    points = np.asarray(points, dtype=np.float64)
    side = size * HIDPI
    pad = 16 * HIDPI
    low, high = points.min(axis=0), points.max(axis=0)
    scale = (side - 2 * pad) / max(float((high - low).max()), 1e-9)
    origin = (float(low[0]) - pad / scale, float(low[1]) - pad / scale)
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    picture = MapPicture(image, origin, scale)
    draw = ImageDraw.Draw(image)
    dot = 2.2 * HIDPI
    for i in np.random.default_rng(seed).permutation(len(points)):  # no digit always on top
        x, y = picture.to_pixels(points[i])
        draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=DIGIT_COLOURS[int(labels[i]) % 10])
    font = _font(22 * HIDPI)
    for digit in range(NUM_CLASSES):
        mine = points[np.asarray(labels) == digit]
        if len(mine):
            x, y = picture.to_pixels(np.median(mine, axis=0))
            draw.text(
                (x, y),
                str(digit),
                fill=(255, 255, 255),
                font=font,
                anchor="mm",
                stroke_width=3 * HIDPI,
                stroke_fill=LABEL_HALO,  # white on a dark halo: reads over dots of every colour, on either theme
            )
    draw.rectangle([0, 0, side - 1, side - 1], outline=GAP_COLOUR, width=HIDPI)
    quantized = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    return MapPicture(quantized, origin, scale)


def seen_image(image: np.ndarray, pixel: int = 6) -> np.ndarray:
    """The 28x28 image the model saw (floats in [0, 1]), enlarged with hard pixel edges, as grey RGB."""
    grey = np.round(np.nan_to_num(np.asarray(image, dtype=np.float32)).clip(0, 1) * 255).astype(np.uint8)
    return _enlarge(grey, pixel * HIDPI)


# --- Why this answer: each pixel's evidence ------------------------------------------------------------

TOWARD_COLOUR = _rgb(DIVERGING[-1])  # red: a pixel's ink counts for the answer
AGAINST_COLOUR = _rgb(DIVERGING[0])  # blue: it counts for the rival
INK_GREY = (0x9A, 0x9A, 0x9A)
FAINT = 0.45  # the strongest "ink here would make it the rival" shows at this share of the blue
FAINT_FROM = 0.35  # and below this share of the strongest, not at all: the places that matter, not a haze


def evidence_image(
    image: np.ndarray, contributions: np.ndarray, toward_rival: np.ndarray, pixel: int = 1
) -> np.ndarray:
    """One drawing's evidence (core.drawings.evidence), a cell per pixel, RGBA: its ink in grey, coloured red where
    the ink counts for the answer and blue where it counts for the rival (full colour at the strongest pixel), and
    on blank pixels a faint blue where ink would count for the rival; the rest transparent.

    Three layers laid one over the other: the ink (as opaque as the pixel is inked), the evidence's colour (as
    opaque as the square root of its strength: weaker evidence stays visible beside the strongest), and the faint
    blue on blank pixels.
    """
    image = np.nan_to_num(np.asarray(image, dtype=np.float32)).clip(0, 1)
    contributions = np.nan_to_num(np.asarray(contributions, dtype=np.float32))
    toward_rival = np.nan_to_num(np.asarray(toward_rival, dtype=np.float32)).clip(0, None)
    peak = float(np.abs(contributions).max())
    strength = np.sqrt(np.abs(contributions) / peak) if peak > 0 else contributions * 0
    colour = np.where(contributions[..., None] > 0, np.float32(TOWARD_COLOUR), np.float32(AGAINST_COLOUR))
    reach = float(toward_rival.max())
    share = toward_rival / reach if reach > 0 else toward_rival * 0
    faint = FAINT * ((share - FAINT_FROM) / (1 - FAINT_FROM)).clip(0, 1) * (1 - image)
    premultiplied, alpha = np.zeros(image.shape + (3,), np.float32), np.zeros(image.shape, np.float32)
    for layer_colour, layer_alpha in (
        (np.float32(INK_GREY), image),
        (colour, strength),
        (np.float32(AGAINST_COLOUR), faint),
    ):
        premultiplied = layer_colour * layer_alpha[..., None] + premultiplied * (1 - layer_alpha[..., None])
        alpha = layer_alpha + alpha * (1 - layer_alpha)
    rgb = premultiplied / np.maximum(alpha, 1e-6)[..., None]
    picture = np.concatenate([rgb, alpha[..., None] * 255], axis=-1)
    return _enlarge(np.round(picture).clip(0, 255).astype(np.uint8), pixel)


def digit_and_evidence(
    image: np.ndarray, contributions: np.ndarray, toward_rival: np.ndarray, pixel: int = 3
) -> np.ndarray:
    """A digit as the model saw it (light ink on black) and, beside it, its `evidence_image`, a transparent gap
    between: one gallery tile, RGBA, drawn at its shown size."""
    grey = np.round(np.nan_to_num(np.asarray(image, dtype=np.float32)).clip(0, 1) * 255).astype(np.uint8)
    seen = opaque(np.repeat(_enlarge(grey, pixel)[..., None], 3, axis=2))
    evidence = evidence_image(image, contributions, toward_rival, pixel)
    gap = np.zeros((seen.shape[0], 2 * pixel, 4), dtype=np.uint8)
    return np.concatenate([seen, gap, evidence], axis=1)
