"""Draw: a digit on the canvas, classified by a trained model after every stroke, and where it lands on its map."""

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core.config import is_run_id
from core.drawings.evidence import Evidence, explain
from core.drawings.folder import DrawingSetError
from core.drawings.hidden_map import MAP_DIGITS, NEIGHBOURS, HiddenMap
from core.drawings.inference import Classifier, ModelLoadError, Prediction
from core.drawings.preprocessing import BRUSH_PIXELS, CANVAS_PIXELS, EmptyDrawing, preprocess_drawing
from core.training.data import bundled_mnist, to_float
from core.views import pictures
from pages.components.drawing_panel import (
    drawing_panel,
    evidence_picture,
    neurons_picture,
    picked_label,
    seen_picture,
)
from pages.ui.store import cached_classifier, run_store, usable_runs
from pages.ui.your_drawings import drawing_set

MAP_PIXELS = 340  # drawn for about this many screen pixels (twice as many in the picture); it fills its column


@dataclass(frozen=True)
class ModelMap:
    """A model's map, its picture and that picture as the panel shows it: made once per model file and
    shared by every session (never changed)."""

    hidden: HiddenMap
    picture: pictures.MapPicture
    picture_uri: str


@st.cache_resource(max_entries=4, show_spinner="Placing 2,000 test digits on the model's map…")
def load_map(path: str, modified: float) -> ModelMap:
    test = bundled_mnist()
    hidden_map = HiddenMap.fit(
        cached_classifier(path, modified), to_float(test["x_test"][:MAP_DIGITS]), test["y_test"][:MAP_DIGITS]
    )
    picture = pictures.map_picture(hidden_map.points, hidden_map.labels, size=MAP_PIXELS)
    return ModelMap(hidden_map, picture, pictures.data_uri(picture.background))


def model_label(run) -> str:
    accuracy = f"{run.metrics.test_accuracy:.2%} on the test set" if run.metrics else run.status
    return f"{run.display_name} · {run.config.shape_label()} · {accuracy}"


def save_drawing(canvas: np.ndarray, label: int) -> dict:
    """Save the canvas into your drawings as `label`; what happened, for the panel to say. Pressing another
    digit for the same drawing replaces its file; pressing the same again saves nothing twice."""
    drawings = drawing_set()
    fingerprint = hashlib.sha256(np.ascontiguousarray(canvas).tobytes()).hexdigest()
    earlier = st.session_state.get("saved_drawing")
    if earlier and earlier["canvas"] == fingerprint and earlier["label"] == label:
        return {"kind": "info", "text": f"Already in your drawings as {earlier['name']}."}
    try:
        name = drawings.save(label, canvas)
    except (DrawingSetError, EmptyDrawing) as error:
        return {"kind": "error", "text": f"Your drawing was not saved: {error}"}
    instead = ""
    if earlier and earlier["canvas"] == fingerprint:  # the same drawing, labelled again: keep only the new label
        try:
            drawings.delete(earlier["name"])
            instead = f", instead of as a {earlier['label']}"
        except DrawingSetError:
            pass  # deleted meanwhile (on the Your drawings page)
    st.session_state["saved_drawing"] = {"canvas": fingerprint, "label": label, "name": name}
    return {
        "kind": "success",
        "text": f"Saved as a {label} in your drawings ({name}{instead}). Models can learn your handwriting "
        "from them: see the Your drawings page.",
    }


def neighbours_text(neighbours: list[tuple[int, int]]) -> str:
    """ "17 are 1s, 2 are 7s and 1 is a 4": the digits nearest to the drawing on the map."""
    parts = [f"{count} {'is a' if count == 1 else 'are'} {digit}{'s' * (count != 1)}" for digit, count in neighbours]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Of the {NEIGHBOURS} test digits nearest to your drawing on the map, {listed}."


MAP_EXPLANATION = (
    f"Each dot is one of {MAP_DIGITS:,} test digits, coloured by its true digit and placed by the pattern it "
    "makes in the network's last hidden layer (squeezed onto two axes by principal component analysis): "
    "digits the network finds alike land close together, and the ring is your drawing."
)


def map_view(the_map: ModelMap, prediction: Prediction | None) -> dict:
    """The map's picture (the same for every stroke), where the ring goes and what the map says."""
    alt = f"A map of {MAP_DIGITS:,} test digits as dots coloured by digit, each digit's name written on its group"
    if prediction is None:
        return {"picture": the_map.picture_uri, "alt": alt, "marker": None, "caption": MAP_EXPLANATION}
    point = the_map.hidden.project(prediction.activations[-1])
    neighbours = the_map.hidden.neighbours(point)
    return {
        "picture": the_map.picture_uri,
        "alt": f"{alt}; a ring marks your drawing among mostly {neighbours[0][0]}s",
        "marker": the_map.picture.fraction(point),
        "caption": f"{MAP_EXPLANATION} {neighbours_text(neighbours)}",
    }


def why_view(evidence: Evidence) -> dict:
    """Why this answer: the image the model saw, coloured by each pixel's evidence, and the line that adds it up."""
    return {
        "title": f"Why {evidence.answer} and not {evidence.rival}",
        "picture": evidence_picture(evidence),
        "alt": f"The 28x28 image the model saw, red where the ink counts for {evidence.answer}, blue where it "
        f"counts for {evidence.rival}",
        "caption": evidence.summary(),
    }


def prediction_view(prediction: Prediction, image: np.ndarray) -> dict:
    runners_up = ", ".join(f"{digit} ({p:.1%})" for digit, p in prediction.top(3)[1:])
    layers = ", ".join(
        f"{name.replace('_', ' ')} ({values.size:,} neurons)"
        for name, values in zip(prediction.layer_names, prediction.activations)
    )
    probabilities = [round(float(p), 4) for p in prediction.probabilities]
    neurons = sum(values.size for values in prediction.activations)
    firing = sum(int((values > 0).sum()) for values in prediction.activations)
    return {
        "prediction": {
            "digit": prediction.digit,
            "heading": f"Prediction: {prediction.digit} ({prediction.confidence:.1%})",
            "said": f"The model reads {prediction.digit}, {prediction.confidence:.0%} sure",
            "runnersUp": f"Next most likely: {runners_up}",
            "probabilities": probabilities,
            "bars": [f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
        },
        "seen": {
            "picture": seen_picture(image),
            "alt": f"The 28x28 image the model saw: your drawing, read as {prediction.digit}, ink on "
            f"{int((image > 0.5).sum())} of its 784 pixels",
        },
        "inside": {
            "picture": neurons_picture(prediction.activations),
            "alt": f"How strongly each of the {neurons:,} hidden neurons fires for your drawing: {firing:,} fire, "
            f"{neurons - firing:,} are silent",
            "caption": "How strongly each hidden neuron fires for your drawing, one cell per "
            f"neuron (bright = strong, dark = silent). From the top: {layers}.",
        },
    }


def predict_drawing(classifier: Classifier, the_map: ModelMap) -> None:
    """The canvas and the panel that answers it; a fragment, so a stroke reruns only these two elements."""
    # One row (one element for the browser to lay out, where columns are three): the canvas at its own width,
    # the panel beside it in the rest.
    row = st.container(horizontal=True, gap="medium", key="draw-row")
    with row:
        drawing = st_canvas(
            stroke_width=BRUSH_PIXELS,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_PIXELS,
            width=CANVAS_PIXELS,
            drawing_mode="freedraw",
            return_image_data=True,
            key="canvas",
        )
    view = {"hint": None, "prediction": None, "status": None, "seen": None, "why": None, "inside": None}
    prediction = None
    label = picked_label()  # taken in every run: a pick never waits for a later drawing
    pixels = drawing.image_data
    try:
        if pixels is None:
            raise EmptyDrawing("Draw a digit on the canvas: it is empty.")
        prepared = preprocess_drawing(pixels)
    except EmptyDrawing as hint:
        view["hint"] = str(hint)
    else:
        prediction = classifier.classify(prepared.image)
        view.update(prediction_view(prediction, prepared.image))
        view["why"] = why_view(explain(classifier, prepared.image)[0])
        if label is not None:
            view["status"] = save_drawing(pixels, label)
    view["map"] = map_view(the_map, prediction)
    with row:
        drawing_panel(view)


st.title("Draw a digit")
# Finished runs first (newest first), then interrupted ones that kept a checkpoint.
runs = sorted((run for run in usable_runs() if run.has_model), key=lambda run: run.metrics is None)
if not runs:
    st.info("There is no trained model yet. Train one first; it takes about a minute.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

wanted = st.query_params.get("run")
index = next((i for i, run in enumerate(runs) if run.run_id == wanted), 0) if is_run_id(wanted or "") else 0
run = st.selectbox(
    "Model",
    runs,
    index=index,
    format_func=model_label,
    key=f"model-{wanted}",
    help="Every finished run with a saved model. The newest comes first.",
)
model_path = run_store().model_path(run.run_id)
try:
    if model_path is None:
        raise ModelLoadError("Its model file is gone (the run was deleted).")
    modified = model_path.stat().st_mtime
    classifier = cached_classifier(str(model_path), modified)
    the_map = load_map(str(model_path), modified)
except (ModelLoadError, OSError) as error:
    st.error(
        f"This model cannot be used: {error} Pick another model above, or train a new one.", icon=":material/error:"
    )
    st.stop()
st.caption(
    "Draw one digit, big and in the middle of the black square, and the model reads it as you draw. The **bin** "
    "button in the toolbar above the square clears it; the arrows undo and redo strokes."
)
st.fragment(predict_drawing)(classifier, the_map)
