"""Runs: every training so far, compared side by side, inspected, downloaded or deleted."""

import pandas as pd
import streamlit as st

from core.config import describe_setting, differing_settings
from core.engine.importing import import_model
from core.engine.progress import format_duration
from core.keras_file.errors import ModelImportError
from core.keras_file.reading import max_upload_bytes
from core.runs.states import ACTIVE_STATUSES, DAMAGED
from core.runs.store import StoreError
from core.views import charts
from pages.components.inside_network import inside_network
from pages.ui.identity import current_person, may_change_run, owner_label, refusal_text
from pages.ui.links import settings_link
from pages.ui.results import network_code, run_results, status_badge, training_charts
from pages.ui.store import job_manager, run_store
from pages.ui.text import literal
from pages.ui.your_drawings import drawing_score, fine_tune_button, scan_drawings, taught_results

store, manager = run_store(), job_manager()
person = current_person()


def delete_button(run, container, key: str, disabled: bool = False, help: str | None = None) -> None:
    """Delete, after a confirmation, for the run's owner and the teacher; the store refuses a run that a live
    process trains."""
    if not may_change_run(person, run.owner):
        disabled, help = True, refusal_text("delete", run.owner, run.owner_name)
    with container.popover("Delete run", icon=":material/delete:", disabled=disabled, help=help):
        st.markdown(f"Delete {literal(run.display_name)} and its model for good?")
        if st.button("Yes, delete it", type="primary", key=key):
            try:
                if not may_change_run(person, run.owner):
                    raise StoreError(refusal_text("delete", run.owner, run.owner_name))
                if manager.is_active(run.run_id):
                    raise StoreError("It is training; stop it first.")
                store.delete_run(run.run_id)
            except (StoreError, OSError) as error:
                st.error(f"Could not delete the run: {error}")
            else:
                st.rerun()


def import_section() -> None:
    with st.expander("Import a model file", icon=":material/upload:"):
        st.caption(
            f"A .keras file downloaded from this app, up to {max_upload_bytes() // 2**20} MB. It is checked "
            "as data and rebuilt by the app; files that are not one of the app's networks are refused."
        )
        upload = st.file_uploader("Model file", type=["keras"], key="upload")
        if upload is not None and st.button("Import", icon=":material/upload:"):
            try:
                new_run = import_model(upload.getvalue(), upload.name, store, person.owner, person.name)
            except (ModelImportError, StoreError) as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.success(f"Imported as run {new_run}, with its test accuracy measured here.")


def damaged_section(damaged: list) -> None:
    st.warning(
        f"{len(damaged)} run{'s' * (len(damaged) > 1)} cannot be read: files missing, cut off or not what "
        "this app writes. They are left out below; delete them, or mend their files by hand.",
        icon=":material/broken_image:",
    )
    for run in damaged:
        text, action = st.columns([5, 1], vertical_alignment="center")
        text.markdown(f"`{run.run_id}` {status_badge(DAMAGED)}")
        # Plain text: the reason quotes the file's content, which must not render as Markdown.
        text.text(f"{run.label}: {run.problem}" if run.label else run.problem)
        delete_button(run, action, key=f"confirm_delete_{run.run_id}")


def row(run, drawings) -> dict:
    config, metrics = run.config, run.metrics
    score = drawing_score(run, drawings)
    return {
        "label": run.label,
        "owner": owner_label(run.owner, run.owner_name),
        "when": pd.Timestamp(run.created, unit="s"),
        "status": run.status,
        "network": config.shape_label(),
        "dropout": config.dropout,
        "activation": config.activation,
        "optimizer": config.optimizer,
        "learning rate": config.learning_rate,
        "batch": config.batch_size,
        "epochs": f"{metrics.epochs_run if metrics else '–'} / {config.epochs}",
        "parameters": metrics.parameters if metrics else None,
        "best val. accuracy": metrics.best_val_accuracy if metrics else None,
        "test accuracy": metrics.test_accuracy if metrics else None,
        "your drawings": score.accuracy if score and score.tested else None,
        "training time": format_duration(metrics.train_seconds) if metrics else "",
        "run": run.run_id,
    }


def runs_table(runs: list) -> None:
    """Every run in a table whose label column can be edited; a change to a run not yours is undone, saying why."""
    drawings = scan_drawings()
    table = pd.DataFrame([row(run, drawings) for run in runs])
    version = st.session_state.setdefault("runs_table_version", 0)
    edited = st.data_editor(
        table,
        hide_index=True,
        width="stretch",
        key=f"runs_table_{version}",
        disabled=[c for c in table.columns if c != "label"],
        column_config={
            "label": st.column_config.TextColumn(
                help="A name for the run; edit it here. Only the run's owner (or the teacher) can change it."
            ),
            "when": st.column_config.DatetimeColumn(format="D MMM, HH:mm"),
            "best val. accuracy": st.column_config.NumberColumn(format="percent"),
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "your drawings": st.column_config.NumberColumn(
                format="percent", help="Accuracy on your drawings that the model did not train on."
            ),
            "parameters": st.column_config.NumberColumn(format="localized"),
        },
    )
    refused = []
    for run, before, after in zip(runs, table["label"], edited["label"]):
        if (after or "") != (before or ""):
            if not may_change_run(person, run.owner):
                refused.append(f"`{run.run_id}`: {refusal_text('relabel', run.owner, run.owner_name)}")
                continue
            try:
                store.set_label(run.run_id, str(after or ""))
            except StoreError as error:
                st.warning(f"The label was not saved: {error}", icon=":material/warning:")
    if refused:  # put the table back as it was, and say why after the rerun that does it
        st.session_state["runs_table_version"] = version + 1
        st.session_state["runs_refused"] = refused
        st.rerun()
    for message in st.session_state.pop("runs_refused", []):
        st.warning(f"The label was not changed. {message}", icon=":material/lock:")


def owner_filter(runs: list) -> list:
    """Whose runs the page lists, mine or everyone's (everyone can look at, compare and draw with every run)."""
    # Radio buttons, not a segmented control: a chosen segment writes the theme's blue as text on its tint, which
    # no single blue makes readable in the dark theme while white button text on it stays readable too.
    shown = st.radio("Show runs of", ["everyone", "mine"], key="runs_of", horizontal=True, label_visibility="collapsed")
    if shown != "mine":
        return runs
    mine = [run for run in runs if person.owner is not None and run.owner == person.owner]
    if not mine:
        st.info("You have no runs yet. Train one on the Train page.", icon=":material/info:")
    return mine


def comparison(runs: list) -> None:
    """The curves of the chosen runs overlaid, each named by the settings in which they differ."""
    by_name = {run.display_name: run for run in runs}
    chosen = st.multiselect(
        "Compare runs",
        list(by_name),
        default=list(by_name)[:3] if len(by_name) > 1 else None,
        help="Validation curves are solid, training curves dotted.",
    )
    if len(chosen) < 2:
        return
    picked = [by_name[name] for name in chosen]
    differing = differing_settings([run.config for run in picked])[:3]

    def legend(run) -> str:
        return ", ".join(describe_setting(run.config, name) for name in differing) or run.display_name

    legends = [legend(run) for run in picked]
    # Runs alike in the settings named (a fine-tune differs in several) are told apart by their names.
    legends = [
        f"{text} ({run.display_name})" if legends.count(text) > 1 else text for text, run in zip(legends, picked)
    ]
    histories = {text: store.load_history(run.run_id) for text, run in zip(legends, picked)}
    left, right = st.columns(2)
    left.plotly_chart(charts.run_comparison(histories, "accuracy"), key="compare-accuracy")
    right.plotly_chart(charts.run_comparison(histories, "loss"), key="compare-loss")


def run_details(runs: list) -> None:
    """One run: its curves, results, settings, downloads and delete."""
    # Labelled by name only: a label that changed with the status would reset the choice mid-training.
    run = st.selectbox("Run", runs, format_func=lambda r: r.display_name, key="detail_run")
    st.markdown(f"#### `{run.run_id}` {status_badge(run.status)}")
    training_charts(store.load_batches(run.run_id), store.load_history(run.run_id), run.config.epochs, key="detail")
    if run.metrics:
        taught_results(run, runs, key="detail")
        run_results(run.run_id, run.metrics, run.stop_reason, key="detail")
    st.fragment(inside_network)(run.run_id, run.config, key="detail")
    with st.expander("Full configuration"):
        st.json(run.config.to_dict())
    network_code(run.config, key="detail", name=f"network_{run.run_id}")
    settings_link(run.config, key="detail")
    history = pd.DataFrame(store.load_history(run.run_id))
    buttons = st.columns(4)
    model_path = store.model_path(run.run_id)
    if model_path is not None:
        try:
            buttons[0].download_button(
                "Download model (.keras)",
                model_path.read_bytes(),
                file_name=f"{run.run_id}.keras",
                icon=":material/download:",
            )
        except OSError as error:
            buttons[0].warning(f"The model file cannot be read: {error.strerror or error}")
    buttons[1].download_button(
        "Download history (CSV)",
        history.to_csv(index=False).encode(),
        file_name=f"{run.run_id}-history.csv",
        icon=":material/table:",
        disabled=history.empty,
    )
    with buttons[3]:
        fine_tune_button(run, key="detail")
    active = run.status in ACTIVE_STATUSES or manager.is_active(run.run_id)
    delete_button(
        run,
        buttons[2],
        key="confirm_delete",
        disabled=active,
        help="A run that is training or queued cannot be deleted; stop it first." if active else None,
    )


st.title("Runs")
st.markdown(
    "Every training so far. Tick two or more to compare their curves: what did dropout, or a bigger layer, change?"
)
import_section()
try:
    every_run = store.list_runs()
except StoreError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
damaged = [run for run in every_run if run.problem is not None]
runs = [run for run in every_run if run.problem is None]
if damaged:
    damaged_section(damaged)
if not runs:
    st.info(f"No {'other ' * bool(damaged)}runs yet. Train one on the Train page.", icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()
runs = owner_filter(runs)
if not runs:
    st.stop()
runs_table(runs)
comparison(runs)
st.divider()
st.subheader("One run in detail")
run_details(runs)
