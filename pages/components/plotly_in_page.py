"""Plotly in the page's own DOM, for the custom components that draw with it (the live curves, the
weights' chart inside the network): where the browser gets plotly.js, and the script helpers they share.

Plotly.js is the copy inside the installed plotly package, served by this app's own server (nothing comes
from the internet): `declare_component` with a path is Streamlit's public way to serve a folder of files.
"""

from __future__ import annotations

from pathlib import Path

import plotly
import streamlit as st
import streamlit.components.v1 as components_v1

PLOTLY_FOLDER = Path(plotly.__file__).parent / "package_data"  # holds plotly.min.js


def plotly_url() -> str:
    """Where the browser finds plotly.min.js on this server (registering the folder that serves it)."""
    served = components_v1.declare_component("plotly_js", path=str(PLOTLY_FOLDER))
    base = st.get_option("server.baseUrlPath").strip("/")
    return "/".join(["", *filter(None, [base, "component", served.name, "plotly.min.js"])])
