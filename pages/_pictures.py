"""Pictures drawn on the server (core.pictures) as the custom components take them: PNG data URIs.

Inside the component's data, a picture needs no second request to the server, and a component's script
swaps it only when its bytes changed. Small pictures go at one pixel a cell and the page enlarges them
with hard edges (CSS `image-rendering: pixelated`), so they stay small to send.
"""

from __future__ import annotations

import base64

import numpy as np
from PIL import Image

from core.pictures import png


def data_uri(picture: np.ndarray | Image.Image | bytes) -> str:
    """A picture (an RGB or grey array, a PIL image, or PNG bytes) as a `data:image/png` URI."""
    data = picture if isinstance(picture, bytes) else png(picture)
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
