"""Pictures drawn on the server (core.pictures) shown on a page: PNG files at a fixed on-screen width.

Passed to st.image as PNG bytes, with PNG asked for: left to choose, Streamlit would re-encode a picture
without transparency as JPEG, and it shrinks (and re-encodes) any picture wider than the width it is
given. So a picture drawn at twice its size goes into a container of the width it is shown at.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from core.pictures import png, shown_width


def show_picture(picture: np.ndarray | Image.Image | bytes, width: int | None = None) -> None:
    """One picture drawn at core.pictures.HIDPI times its size, shown sharp at `width` (default: half its pixels).

    PNG bytes (a picture encoded once and cached) need their `width`.
    """
    data = picture if isinstance(picture, bytes) else png(picture)
    with st.container(width=width or shown_width(picture)):
        st.image(data, width="stretch", output_format="PNG")
