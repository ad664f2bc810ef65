"""Your drawings: the digits you saved or put in the folder, how each model reads them, and teaching it your style."""

import pandas as pd
import streamlit as st

from core.config import SETTING
from core.drawings.folder import DrawingScan, DrawingSetError, people_with_drawings
from core.runs.classroom import placeholder_name
from core.runs.states import FINISHED_WITH_RESULTS, IMPORTED
from core.training.teaching import mnist_baseline, trained_drawings
from pages.ui.identity import classroom_settings, current_person
from pages.ui.results import upscale
from pages.ui.store import run_store, usable_runs
from pages.ui.text import literal
from pages.ui.your_drawings import drawing_score, drawing_set, fine_tune_button, scan_drawings

GALLERY_PAGE = 16  # drawings shown at once per digit: two rows
GALLERY_COLUMNS = 8


def folder_format(scan: DrawingScan) -> None:
    with st.expander("Add drawings by hand: the folder's format", icon=":material/folder_open:"):
        st.markdown(
            f"Your drawings are plain files in `{scan.folder}`. Put in your own: **PNG or JPEG** images of "
            "**one digit** each, any size, named after the digit followed by `_` or `-` (`7_a81c.png`, "
            "`1-phone.jpg`). Light ink on a dark background, as the canvas draws; dark ink on light paper is "
            "recognised and inverted. Every image is prepared as a drawing is: cropped to the ink, scaled into "
            "20×20 pixels and centred in 28×28. Files that cannot be used are listed here with the reason, "
            "and left alone."
        )


def skipped_files(scan: DrawingScan) -> None:
    count = len(scan.skipped)
    st.warning(
        f"{count} file{'s' * (count > 1)} in the folder {'are' if count > 1 else 'is'} not used as drawings:",
        icon=":material/block:",
    )
    # A table, not Markdown: names come from whoever filled the folder.
    st.dataframe(
        pd.DataFrame({"file": [s.name for s in scan.skipped], "why": [f"It {s.reason}." for s in scan.skipped]}),
        hide_index=True,
        width="stretch",
    )


def counts_row(scan: DrawingScan) -> None:
    for digit, (column, count) in enumerate(zip(st.columns(10), scan.counts())):
        column.metric(f"Digit {digit}", count)


def model_scores(scan: DrawingScan, runs: list) -> None:
    """Each model's accuracy on the drawings it did not train on, beside its MNIST test accuracy."""
    st.subheader("How each model reads them")
    rows = []
    for run in runs:
        score = drawing_score(run, scan)
        trained = trained_drawings(run_store(), run)
        baseline = mnist_baseline(run_store(), run, runs)
        rows.append(
            {
                "model": run.display_name,
                "network": run.config.shape_label(),
                "trained on": f"{len(trained)} of your drawings"
                if trained is not None
                else "elsewhere (imported)"
                if run.stop_reason == IMPORTED
                else "unknown: its record cannot be read",
                "your drawings it did not train on": score.accuracy if score and score.tested else None,
                "tested on": score.tested if score else None,
                "MNIST test accuracy": run.metrics.test_accuracy,
                "MNIST change": None
                if baseline is None
                else (run.metrics.test_accuracy - baseline.test_accuracy) * 100,
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "your drawings it did not train on": st.column_config.NumberColumn(format="percent"),
            "MNIST test accuracy": st.column_config.NumberColumn(format="percent"),
            "MNIST change": st.column_config.NumberColumn(
                format="%+.2f points",
                help="Against its parent (a fine-tune) or the same settings without your drawings.",
            ),
        },
    )
    st.caption(
        "A model is scored only on drawings it never trained on (each run records the names and content "
        "hashes of those it did). An imported model was trained elsewhere and could have seen any of them, "
        "so it is not scored."
    )


def teach_section(runs: list) -> None:
    st.subheader("Teach a model your handwriting")
    st.markdown(
        "Two ways, both keeping every fifth drawing of each digit out to test on:\n"
        "- **Train** a new model with **Include your drawings** switched on: they are mixed into MNIST's "
        "images, each repeated as varied copies until they make up the **Weight of your drawings** of every epoch.\n"
        "- **Fine-tune** a finished model: a short training from its weights on MNIST and your drawings, "
        "as a new run, at the weight you choose here. Faster, and its MNIST test accuracy is shown against the "
        "model it started from; try two weights and compare them on the run's chart."
    )
    st.page_link("pages/train.py", label="Train with your drawings", icon=":material/model_training:")
    finished = [run for run in runs if run.status in FINISHED_WITH_RESULTS and run.stop_reason != IMPORTED]
    if finished:
        left, right = st.columns([3, 2], vertical_alignment="bottom")
        with left:
            run = st.selectbox("Model to fine-tune", finished, format_func=lambda r: r.display_name, key="tune_run")
        with right:
            weight = weight_slider()
        fine_tune_button(run, key="drawings", weight=weight)


def weight_slider() -> float:
    """How much of each epoch the fine-tune's drawings make up: the trade between your handwriting and MNIST's."""
    setting = SETTING["drawing_weight"]
    steps = round((setting.high - setting.low) / setting.step)
    return st.select_slider(
        setting.label,
        [round(setting.low + i * setting.step, 2) for i in range(steps + 1)],
        value=setting.default,
        format_func=lambda share: f"{share:.0%}",
        key="tune_weight",
        help=setting.help,
    )


def whose_drawings() -> str | None:
    """The teacher of a class picks whose drawings to look at (and may delete); everyone else sees their own."""
    person = current_person()
    if not (person.teacher and classroom_settings().has_class):
        return None
    names = run_store().classroom().names
    people = [owner for owner in people_with_drawings(drawing_set().folder.parent) if owner != person.owner]
    return st.selectbox(
        "Whose drawings",
        [person.owner, *sorted(people, key=lambda owner: names.get(owner, placeholder_name(owner)))],
        format_func=lambda owner: "Yours" if owner == person.owner else names.get(owner) or placeholder_name(owner),
        help="As the teacher you can look at, and delete, anyone's drawings.",
    )


def gallery(scan: DrawingScan, owner: str | None) -> None:
    """The drawings by digit, as the model sees them, each with its delete button."""
    st.subheader("Your drawings by digit")
    counts = scan.counts()
    for digit, tab in zip(range(10), st.tabs([f"{d} · {n}" for d, n in enumerate(counts)])):
        with tab:
            drawings = scan.of_digit(digit)
            if not drawings:
                st.caption(f"No drawing of a {digit} yet.")
                continue
            if len(drawings) > GALLERY_PAGE:  # a class's thousands of drawings: a page of them at a time
                pages = -(-len(drawings) // GALLERY_PAGE)
                page = st.number_input(
                    f"Page (of {pages})", 1, pages, 1, key=f"gallery-page-{digit}-{owner}", width=160
                )
                st.caption(
                    f"{len(drawings):,} drawings of a {digit}, {GALLERY_PAGE} to a page, in the order of their names."
                )
                drawings = drawings[(page - 1) * GALLERY_PAGE : page * GALLERY_PAGE]
            cells = st.columns(GALLERY_COLUMNS)
            for i, drawing in enumerate(drawings):
                with cells[i % GALLERY_COLUMNS]:
                    st.image(
                        upscale(drawing.image, 3),
                        caption=literal(drawing.name),
                        alt=f"Your drawing of a {digit}, as the model sees it",
                    )
                    # A bordered button, not a tertiary one: a tertiary button's text is the theme's blue, which in
                    # the dark theme cannot be readable as text and under white button text at once.
                    if st.button("Delete", icon=":material/delete:", key=f"delete-{drawing.name}"):
                        try:
                            drawing_set(owner).delete(drawing.name)
                        except DrawingSetError as error:
                            st.error(literal(str(error)), icon=":material/error:")
                        else:
                            st.toast(f"Deleted {literal(drawing.name)}.")
                            st.rerun()


st.title("Your drawings")
st.markdown(
    "People do not write like MNIST's writers did: a 1 with a lead-in stroke, a crossed 7, an open 4. "
    "Every digit you correct or confirm on the **Draw** page is kept here with its label, and a few of "
    "your own examples can teach a model your style."
)
whose = whose_drawings()
scan = scan_drawings(whose)
folder_format(scan)
if scan.skipped:
    skipped_files(scan)
if not scan.drawings:
    st.info(
        "No drawings yet. On the Draw page, draw a digit, then press **Right** or **It is a …** under the "
        f"prediction; or put image files in `{scan.folder}`.",
        icon=":material/draw:",
    )
    st.page_link("pages/draw.py", label="Go to Draw", icon=":material/draw:")
    st.stop()
# Plain text: a code span at a caption's opacity falls below AA contrast (tests/e2e/test_accessibility.py).
st.caption(f"{len(scan.drawings)} drawings in {literal(str(scan.folder))}")
counts_row(scan)
runs = [run for run in usable_runs() if run.has_model and run.metrics is not None]
if runs:
    model_scores(scan, runs)
    teach_section(runs)
gallery(scan, whose)
