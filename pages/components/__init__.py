"""The app's custom components (Streamlit components v2: no iframe), one folder each with its .py, .js, .css
and .html. Each script is the component's own file after the helpers they share (shared.js; Plotly's for those
that draw with it: plotly_in_page.py)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def read(folder: str, name: str) -> str:
    """A file of a component's folder (its CSS or HTML)."""
    return (HERE / folder / name).read_text()


def script(folder: str, name: str, *, plotly: bool = False, before: tuple[str, ...] = ()) -> str:
    """A component's script: the shared helpers, Plotly's helpers where it draws with Plotly, the files `before`
    (paths in this folder: another component's drawing code it reuses), then its own file."""
    parts = ["shared.js", *(["plotly_in_page.js"] if plotly else []), *before, f"{folder}/{name}"]
    return "\n".join((HERE / part).read_text() for part in parts)
