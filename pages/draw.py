"""Draw: a digit on the canvas, classified by a trained model after every stroke, and where it lands on its map."""

import hashlib

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from core import pictures
from core.data import bundled_mnist, to_float
from core.drawing import EmptyDrawing, preprocess_drawing
from core.drawing_set import DrawingSetError
from core.hidden_map import MAP_DIGITS, NEIGHBOURS, HiddenMap
from core.inference import Classifier, ModelLoadError, Prediction
from core.store import is_run_id
from pages._components import drawing_set, run_store, usable_runs
from pages._pictures import show_picture

CANVAS_PIXELS = 280
# A digit drawn about 200 px tall is scaled by 20/200 into MNIST's 20 px box: a 20 px brush
# becomes a 2 px stroke, as thick as MNIST's pen.
BRUSH_PIXELS = 20
MAP_PIXELS = 340  # drawn for about this many screen pixels (twice as many in the picture); it fills its column


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_classifier(path: str, modified: float) -> Classifier:
    """One loaded model per file version, shared by every session (read-only numpy arrays)."""
    return Classifier.load(path)


@st.cache_resource(max_entries=4, show_spinner="Placing 2,000 test digits on the model's map…")
def load_map(path: str, modified: float) -> tuple[HiddenMap, pictures.MapPicture]:
    """The model's map and its picture, made once per model file (read-only, shared by every session)."""
    test = bundled_mnist()
    hidden_map = HiddenMap.fit(
        load_classifier(path, modified), to_float(test["x_test"][:MAP_DIGITS]), test["y_test"][:MAP_DIGITS]
    )
    return hidden_map, pictures.map_picture(hidden_map.points, hidden_map.labels, size=MAP_PIXELS)


def model_label(run) -> str:
    accuracy = f"{run.metrics.test_accuracy:.2%} on the test set" if run.metrics else run.status
    return f"{run.display_name} · {run.config.shape_label()} · {accuracy}"


def save_drawing(canvas: np.ndarray, label: int) -> None:
    """Save the canvas into your drawings as `label`, and say so. Pressing another digit for the same
    drawing replaces its file; pressing the same again saves nothing twice."""
    drawings = drawing_set()
    fingerprint = hashlib.sha256(np.ascontiguousarray(canvas).tobytes()).hexdigest()
    earlier = st.session_state.get("saved_drawing")
    if earlier and earlier["canvas"] == fingerprint and earlier["label"] == label:
        st.info(f"Already in your drawings as {earlier['name']}.", icon=":material/check:")
        return
    try:
        name = drawings.save(label, canvas)
    except (DrawingSetError, EmptyDrawing) as error:
        st.error(f"Your drawing was not saved: {error}", icon=":material/error:")
        return
    instead = ""
    if earlier and earlier["canvas"] == fingerprint:  # the same drawing, labelled again: keep only the new label
        try:
            drawings.delete(earlier["name"])
            instead = f", instead of as a {earlier['label']}"
        except DrawingSetError:
            pass  # deleted meanwhile (on the Your drawings page)
    st.session_state["saved_drawing"] = {"canvas": fingerprint, "label": label, "name": name}
    st.success(
        f"Saved as a {label} in your drawings ({name}{instead}). Models can learn your handwriting from them: "
        "see **Your drawings**.",
        icon=":material/check:",
    )


def correction_buttons(canvas: np.ndarray, prediction: Prediction) -> None:
    """ "Right", or "It is a ..." 0-9: either saves the drawing with its label into your drawings."""
    label = None
    if st.button("Right", icon=":material/check:", key="correct-right", help=f"Save it as a {prediction.digit}"):
        label = prediction.digit
    st.caption("Wrong? It is a …")
    with st.container(horizontal=True, gap="xsmall"):
        for digit in range(10):
            if st.button(str(digit), key=f"correct-{digit}", help=f"It is a {digit}: save it as a {digit}"):
                label = digit
    if label is not None:
        save_drawing(canvas, label)


def neighbours_text(neighbours: list[tuple[int, int]]) -> str:
    """ "17 are 1s, 2 are 7s and 1 is a 4": the digits nearest to the drawing on the map."""
    parts = [f"{count} {'is a' if count == 1 else 'are'} {digit}{'s' * (count != 1)}" for digit, count in neighbours]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Of the {NEIGHBOURS} test digits nearest to your drawing on the map, {listed}."


def drawing_map(hidden_map: HiddenMap, picture: pictures.MapPicture, prediction: Prediction | None) -> None:
    """The map, with a ring where the drawing lands; only the ring is new at each stroke."""
    st.markdown("**Where your drawing lands**")
    point = None if prediction is None else hidden_map.project(prediction.activations[-1])
    show_picture(picture.with_marker(point), width="stretch")
    explanation = (
        f"Each dot is one of {MAP_DIGITS:,} test digits, coloured by its true digit and placed by the pattern it "
        "makes in the network's last hidden layer (squeezed onto two axes by principal component analysis): "
        "digits the network finds alike land close together, and the black ring is your drawing."
    )
    st.caption(explanation if point is None else f"{explanation}\n\n{neighbours_text(hidden_map.neighbours(point))}")


def inside_the_network(prediction: Prediction) -> None:
    layers = ", ".join(
        f"{name.replace('_', ' ')} ({values.size:,} neurons)"
        for name, values in zip(prediction.layer_names, prediction.activations)
    )
    show_picture(
        pictures.activation_blocks(prediction.activations),
        caption=f"Inside the network: how strongly each hidden neuron fires for your drawing, one cell per neuron "
        f"(bright = strong, dark = silent). From the top: {layers}.",
        width="stretch",
    )


def predict_drawing(classifier: Classifier, hidden_map: HiddenMap, picture: pictures.MapPicture) -> None:
    """Canvas, prediction and map; a fragment, so a stroke reruns only this part of the page.

    Everything after the canvas is a small picture drawn here (a few milliseconds each): the browser
    only swaps images, and an unchanged one (the empty map) is not even fetched again.
    """
    canvas_column, result_column, map_column = st.columns([1, 1, 1.25], gap="medium")
    with canvas_column:
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
        st.caption(
            "Draw one digit, big and in the middle. The **bin** button in the toolbar above the canvas clears it; "
            "the arrows undo and redo strokes."
        )
    prediction = prepared = None
    with result_column:
        pixels = drawing.image_data
        try:
            if pixels is None:
                raise EmptyDrawing("Draw a digit on the canvas: it is empty.")
            prepared = preprocess_drawing(pixels)
        except EmptyDrawing as hint:
            st.info(str(hint), icon=":material/draw:")
        else:
            prediction = classifier.classify(prepared.image)
            st.markdown(f"## Prediction: {prediction.digit} ({prediction.confidence:.1%})")
            correction_buttons(pixels, prediction)
            runners_up = ", ".join(f"{digit} ({p:.1%})" for digit, p in prediction.top(3)[1:])
            st.caption(f"Next most likely: {runners_up}")
            show_picture(
                pictures.probability_bars(prediction.probabilities),
                caption="Probability of each digit",
                width="stretch",
            )
    with map_column:
        drawing_map(hidden_map, picture, prediction)
    if prediction is None:
        return
    seen, inside = st.columns([1, 3], gap="large")
    with seen:
        show_picture(
            pictures.seen_image(prepared.image),
            caption="What the model saw: your drawing cropped, scaled into "
            "a 20×20 box and centred in 28×28 pixels, as MNIST was made.",
            width="stretch",
        )
    with inside:
        inside_the_network(prediction)


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
    classifier = load_classifier(str(model_path), modified)
    hidden_map, map_background = load_map(str(model_path), modified)
except (ModelLoadError, OSError) as error:
    st.error(
        f"This model cannot be used: {error} Pick another model above, or train a new one.", icon=":material/error:"
    )
    st.stop()
st.fragment(predict_drawing)(classifier, hidden_map, map_background)
