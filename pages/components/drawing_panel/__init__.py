"""The Draw page's answer to a drawing, as one custom component beside the canvas: the prediction and its
probabilities, the buttons that label the drawing, where it lands on the model's map, the 28x28 image the
model saw, why it gave its answer (each pixel's evidence) and how its hidden neurons fire.

Why one component and not a dozen Streamlit elements: at every stroke the browser renders each element of
the fragment again (its styles, its Markdown), and with about fifteen of them that held up the prediction
(bench/browser_latency.py measures it). This component (Streamlit components v2: no iframe) is one element
whose script (drawing_panel.js beside this file) changes only what changed: the texts,
the bars' heights, the ring's place on the map, and a picture only when its bytes changed. The map itself
is the same picture for every stroke; only the ring moves.

Pictures travel inside the update as data URIs: no second request to the server per picture. The small
ones (the 28x28 image, the neurons) are sent at one or two pixels a cell and enlarged by the browser with
hard edges (CSS `image-rendering: pixelated`).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.config import is_int
from core.views import pictures
from pages.components import read, script

KEY = "drawing-panel"
DIGIT_BUTTONS = "".join(
    f'<button type="button" data-digit="{digit}" title="It is a {digit}: save it as a {digit}">{digit}</button>'
    for digit in range(10)
)


def _css_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# The bars' and the ring's look come from core.views.pictures, as the server-drawn pictures' do.
STYLE = (
    f"--dp-bar: {_css_colour(pictures.TRAIN_COLOUR)}; --dp-chosen: {_css_colour(pictures.CHOSEN_COLOUR)}; "
    f"--dp-axis: {_css_colour(pictures.GAP_COLOUR)}; --dp-ring-radius: {pictures.MARKER_RADIUS}px"
)
HTML = f"""
<div class="drawing-panel" style="{STYLE}"><div class="dp-grid">
  <section class="dp-result">
    <p class="dp-announce" aria-live="polite" aria-atomic="true"></p>
    <p class="dp-hint" role="status" hidden></p>
    <div class="dp-answer" hidden>
      <h2 class="dp-heading"></h2>
      <button type="button" class="dp-right"><span aria-hidden="true">✓ </span>Right</button>
      <p class="dp-caption">Wrong? It is a …</p>
      <div class="dp-digits">{DIGIT_BUTTONS}</div>
      <p class="dp-status" role="status" hidden></p>
      <p class="dp-caption dp-runners-up"></p>
      <div class="dp-bars" role="img" aria-label="Probability of each digit"></div>
      <p class="dp-caption dp-centre">Probability of each digit</p>
    </div>
  </section>
  <section class="dp-map">
    <p class="dp-title">Where your drawing lands</p>
    <div class="dp-map-frame">
      <img class="dp-map-picture">
      <div class="dp-ring" hidden></div>
    </div>
    <p class="dp-caption dp-map-caption"></p>
  </section>
  <div class="dp-bottom">
  <section class="dp-seen" hidden>
    <p class="dp-title">What the model saw</p>
    <img class="dp-pixelated">
    <p class="dp-caption">Your drawing cropped, scaled into a 20×20 box and centred in 28×28 pixels, as MNIST was
      made.</p>
  </section>
  <section class="dp-why" hidden>
    <p class="dp-title dp-why-title"></p>
    <img class="dp-pixelated">
    <p class="dp-caption dp-why-caption"></p>
  </section>
  <section class="dp-inside" hidden>
    <p class="dp-title">Inside the network</p>
    <img class="dp-pixelated">
    <p class="dp-caption"></p>
  </section>
  </div>
</div></div>
"""

_component = st.components.v2.component(
    "mnist_drawing_panel",
    html=HTML,
    css=read("drawing_panel", "drawing_panel.css"),
    js=script("drawing_panel", "drawing_panel.js"),
    isolate_styles=False,  # in the page's own DOM: its fonts, and tests and benchmarks read its text
)


def seen_picture(image: np.ndarray) -> str:
    """The 28x28 image as sent: two pixels a pixel, enlarged in the browser."""
    return pictures.data_uri(pictures.seen_image(image, pixel=1))


def evidence_picture(evidence) -> str:
    """Each pixel's evidence (core.drawings.evidence.Evidence), a pixel a cell, enlarged in the browser."""
    return pictures.data_uri(pictures.evidence_image(evidence.image, evidence.contributions, evidence.ink_toward_rival))


def neurons_picture(activations: list[np.ndarray]) -> str:
    """Every hidden layer's neurons, a cell or two a neuron, enlarged in the browser."""
    return pictures.data_uri(pictures.activation_blocks(activations, width=64, gap=2))


def picked_label() -> int | None:
    """The digit a button of the panel gave the drawing in this run (then forgotten), or None."""
    return st.session_state.pop(f"{KEY}-picked", None)


def _remember_pick() -> None:  # runs before the rerun the button asked for
    picked = (st.session_state.get(KEY) or {}).get("label")
    if is_int(picked) and 0 <= picked <= 9:
        st.session_state[f"{KEY}-picked"] = picked


def drawing_panel(view: dict) -> None:
    """Show `view` (its fields: drawing_panel.js); a label button's digit comes back through
    `picked_label` in the run it causes."""
    _component(key=KEY, data=view, on_label_change=_remember_pick)
