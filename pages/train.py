"""Train: choose the network, start training, watch it learn, read the held-out results."""

import pandas as pd
import streamlit as st

from core.config import (
    DEFAULTS,
    MAX_LAYERS,
    SETTING,
    SETTINGS,
    ConfigError,
    LinkedSettings,
    Setting,
    TrainConfig,
    count_parameters,
    settings_from_link,
)
from core.runs.drawings_record import DrawingsRecord
from core.runs.lessons import CHANGEABLE, Lesson, LessonError
from core.runs.states import ACTIVE_STATUSES, FAILED, INTERRUPTED, QUEUED
from core.runs.store import StoreError
from core.training.isolated import run_isolated
from core.training.machine import describe_fast_mode
from core.training.model import describe_layers
from core.training.teaching import split_for_training
from pages.components.inside_network import inside_network
from pages.components.live_run import live_run as live_run_component
from pages.ui.identity import current_person, may_change_run, owner_label, queue_share, refusal_text
from pages.ui.lessons import lesson_book, lesson_card
from pages.ui.links import settings_link
from pages.ui.results import network_code, run_results, status_badge, training_charts, upscale
from pages.ui.store import job_manager, run_store, usable_runs
from pages.ui.text import literal
from pages.ui.training_status import train_page_run_id
from pages.ui.your_drawings import drawing_set, fine_tune_button, scan_drawings, taught_results

SECTIONS = {"Network": 2, "Learning": 3, "Data": 2}  # form sections and their columns
QUEUE_POLL_SECONDS = 1.0
KEEP = {"persist_state": "session"}  # the form survives a visit to another page

store, manager = run_store(), job_manager()

st.title("Train a neural network")
st.markdown(
    "A **multilayer perceptron** reads the 784 pixels of a 28×28 digit, passes them through hidden layers of "
    "neurons and outputs ten probabilities, one per digit. Choose its shape and how it learns, then press "
    "**Start** and watch the loss fall and the accuracy rise."
)


PAGE_NAMES = ("run", "lesson")  # the page's own names in its address, besides the settings
FIXED_HELP = "Fixed by the lesson."


def opened_lesson() -> Lesson | None:
    """The lesson the address opens (`?lesson=ID`), shown above the form; None without one, or when it is gone."""
    lesson_id = st.query_params.get("lesson")
    if lesson_id is None:
        return None
    try:
        lesson = lesson_book().get(lesson_id)
    except LessonError as error:
        st.warning(f"{literal(str(error))} The form is yours to set.", icon=":material/school:")
        return None
    lesson_card(lesson, open_link=False)
    st.page_link("pages/train.py", label="Leave the lesson", icon=":material/logout:")
    return lesson


def fill_form(values: dict) -> None:
    """Put settings (TrainConfig's names and values) into the form's fields."""
    for name, value in values.items():
        if name == "hidden_layers":
            st.session_state["n_layers"] = len(value)
            for i, units in enumerate(value[:MAX_LAYERS]):
                st.session_state[f"units_{i}"] = units
        else:
            st.session_state[name] = value  # None empties an optional field: "all"


def apply_link(lesson: Lesson | None) -> LinkedSettings | None:
    """Put the lesson's settings, then those the address names, into the form (once per address, so a change made
    in the form is not undone by the next rerun, nor by the run's id joining the address); what the address said,
    or None for an address without settings or a lesson. A lesson's fixed settings stay the lesson's."""
    query = {name: st.query_params[name] for name in st.query_params}
    linked = settings_from_link(query, others=PAGE_NAMES)
    if lesson is None and not (linked.values or linked.unreadable or linked.ignored):
        return None
    mark = tuple(sorted(item for item in query.items() if item[0] != "run"))
    if st.session_state.get("applied_link") != mark:
        st.session_state["applied_link"] = mark
        if lesson is not None:
            fill_form({name: getattr(lesson.settings, name) for name in CHANGEABLE})
        fill_form({name: value for name, value in linked.values.items() if lesson is None or name in lesson.changeable})
    return linked


def link_notes(linked: LinkedSettings, lesson: Lesson | None) -> None:
    """What the address said that the form could not take (shown as typed, never as Markdown)."""
    for message in linked.unreadable.values():
        st.warning(f"From the address, {literal(message)}: the form keeps its own value.", icon=":material/link_off:")
    if linked.ignored:
        st.caption(f"Ignored in the address (no such setting): {literal(', '.join(linked.ignored))}.")
    fixed = [SETTING[name].label for name in linked.values if lesson is not None and name not in lesson.changeable]
    if fixed:
        st.caption(f"Kept as the lesson says (the address cannot change them): {', '.join(fixed)}.")


def layer_units_inputs(fixed: bool = False) -> tuple:
    """How many hidden layers, and a units field for each; a count out of range still reaches validation."""
    setting = SETTING["hidden_layers"]
    help_text = setting.help + (" " + FIXED_HELP if fixed else "")
    n_layers = st.number_input(
        setting.label,
        value=len(DEFAULTS.hidden_layers),
        step=1,
        key="n_layers",
        help=help_text,
        disabled=fixed,
        **KEEP,
    )
    shown = max(1, min(int(n_layers or 1), MAX_LAYERS))
    units = []
    for i, column in enumerate(st.columns(shown)):
        default = DEFAULTS.hidden_layers[i] if i < len(DEFAULTS.hidden_layers) else 128
        units.append(
            column.number_input(
                f"Layer {i + 1} units", value=default, step=int(setting.step), key=f"units_{i}", disabled=fixed, **KEEP
            )
        )
    # The engine explains the range when the count is outside it, so pass a count it will refuse.
    return tuple(units) if n_layers == shown else (0,) * max(int(n_layers or 0), 0)


def setting_input(setting: Setting, where, fixed: bool = False):
    """The widget for one row of SETTINGS, its value as TrainConfig takes it (shown but not changeable if `fixed`)."""
    help_text = setting.help + (" " + describe_fast_mode() if setting.name == "fast_mode" else "")
    help_text += " " + FIXED_HELP if fixed else ""
    common = dict(key=setting.name, help=help_text, disabled=fixed, **KEEP)
    if setting.kind == "choice":
        return where.selectbox(setting.label, setting.choices, index=setting.choices.index(setting.default), **common)
    if setting.kind == "switch":
        return where.toggle(setting.label, value=setting.default, **common)
    if setting.none_is is not None:  # optional: an empty field says "all" in words, not as a bare 0
        value = where.number_input(
            setting.label, value=None, placeholder="All", step=setting.step, format=setting.number_format, **common
        )
        return None if value is None or value == setting.none_is else value
    return where.number_input(
        setting.label, value=setting.default, step=setting.step, format=setting.number_format, **common
    )


def hyperparameter_form(lesson: Lesson | None) -> TrainConfig | None:
    """Every row of SETTINGS as a field, by section; a value out of range shows the engine's message under it.
    An address with settings (or a lesson) fills the form first; a lesson's fixed settings are shown, not changeable,
    and put back to the lesson's whatever the page is sent."""
    linked = apply_link(lesson)
    if linked is not None:
        link_notes(linked, lesson)
    fixed = set(lesson.fixed) if lesson is not None else set()
    values, slots = {}, {}
    for section, columns in SECTIONS.items():
        st.subheader(section)
        if section == "Network":
            values["hidden_layers"] = layer_units_inputs("hidden_layers" in fixed)
            slots["hidden_layers"] = st.empty()
        rows = [s for s in SETTINGS if s.section == section and s.kind != "layers"]
        for start in range(0, len(rows), columns):
            for setting, column in zip(rows[start : start + columns], st.columns(columns)):
                values[setting.name] = setting_input(setting, column, setting.name in fixed)
                slots[setting.name] = column.empty()
    try:
        config = TrainConfig(**values)
        if lesson is not None:
            config = lesson.apply(config)
    except ConfigError as error:
        slots.get(error.field, slots["hidden_layers"]).error(error.message, icon=":material/error:")
        return None
    return config if not config.include_drawings or drawings_to_include(slots["include_drawings"]) else None


def challenge_check(config: TrainConfig, lesson: Lesson) -> None:
    """Whether these settings keep to the lesson's challenge, before anything trains."""
    broken = lesson.challenge.broken_by(config)
    if broken:
        st.warning(
            f"Over the challenge: {'; '.join(broken)}. It can still train, but ranks after every run within it.",
            icon=":material/flag:",
        )
    else:
        st.success(f"Within the challenge ({', '.join(lesson.challenge.rules())}).", icon=":material/flag:")


def drawings_to_include(slot) -> bool:
    """Under the switch: how many of your drawings will train, and how many are kept out; False if none can."""
    scan = scan_drawings()
    train, held_out = split_for_training(scan.drawings)
    if not train:
        slot.error(
            f"There are no drawings to include yet (in {scan.folder}). Save some on the Draw page, under the "
            "prediction, or switch this off.",
            icon=":material/error:",
        )
        return False
    slot.caption(f"{len(train)} of your drawings will train; {len(held_out)} are kept out, to test on.")
    return True


@st.cache_data(max_entries=8, show_spinner=False)
def cached_augmented_strip(seed: int):
    """Cached per seed: the same examples on every rerun of the form. Made by Keras's own layers, in a child
    process (a few seconds, once per seed), so this server never imports TensorFlow (core.training.isolated)."""
    return run_isolated("core.training.augmentation_preview", "augmented_strip", count=6, variants=3, seed=seed)


def augmented_examples(seed: int) -> None:
    """What augmentation does: the same training digit, changed at random as the network will see it."""
    originals, variants = cached_augmented_strip(seed)
    st.caption(
        "Augmentation at work: each column is one training digit (top) and three random versions "
        "the network might see instead."
    )
    columns = st.columns(len(originals))
    for column, original, versions in zip(columns, originals, variants):
        column.image(
            [upscale(original, 2)] + [upscale(v, 2) for v in versions],
            width=56,
            alt=["A training digit"] + ["The same digit changed at random, as the network may see it"] * len(versions),
        )


def model_summary(config: TrainConfig) -> None:
    st.subheader("Model summary")
    rows = describe_layers(config)
    st.dataframe(
        pd.DataFrame(
            {
                "layer": [f"{row.name} ({row.kind})" for row in rows],
                "output shape": [str(row.output_shape).replace("None", "batch") for row in rows],
                "parameters": [row.params for row in rows],
            }
        ),
        hide_index=True,
        width="stretch",
        height=35 * (len(rows) + 1) + 3,  # every layer, no scrolling
        column_config={"parameters": st.column_config.NumberColumn(format="localized")},
    )
    st.metric(
        "Trainable parameters", f"{count_parameters(config):,}", help="Every weight and bias the network will learn."
    )
    network_code(config, key="form")


def live_run(job) -> None:
    """A run that is queued or training: what stays the same while it trains, drawn once, and what moves.

    The progress, the curves and the panels inside the network follow the live feed by themselves
    (pages/components/live_run), so their fragment is run again only when the run's status changes: the browser
    renders each rerun again, on cores that may be training. While the run waits in the queue the fragment polls,
    for its place in the queue.
    """
    st.markdown(f"#### Run `{job.run_id}` {status_badge(job.status)}")
    st.caption(job.config.summary())
    whose_run(job.owner, job.owner_name)
    stop_button(job)
    poll = QUEUE_POLL_SECONDS if job.status == QUEUED else None
    st.fragment(live_training, run_every=poll)(job.run_id, job.status)


def live_training(run_id: str, status: str) -> None:
    """Progress (or the queue), the curves and the panels of a run shown as `status`; the whole page is drawn
    again once the run has started or ended."""
    job = manager.get(run_id)
    if job is None or job.done or job.status != status:
        st.rerun()  # started, or ended: the page again, with the run as it is now
    if job.status == QUEUED:
        st.info(
            f"Waiting: {manager.jobs_ahead(run_id)} ahead in the queue. It starts on its own; "
            "you can leave this page and come back.",
            icon=":material/hourglass_empty:",
        )
    batches, epochs = job.log.records()
    progress = None if job.status == QUEUED else job.progress()
    live_run_component(run_id, batches, epochs, job.config, job.status, progress)


def whose_run(owner: str | None, owner_name: str, lesson_id: str | None = None) -> None:
    """Whose run this is, and the lesson it was started under (as plain text: names and titles are as typed)."""
    if owner is not None:
        st.text(f"Started by {owner_label(owner, owner_name)}")
    if lesson_id is not None:
        try:
            st.text(f"Under the lesson {lesson_book().get(lesson_id).title}")
        except LessonError:
            st.text("Under a lesson that has since been deleted")


def stop_button(job) -> None:
    """Stop, for the run's owner and the teacher; everyone else sees why not. Checked again on the click."""
    allowed = may_change_run(current_person(), job.owner)
    if st.button(
        "Stop training",
        icon=":material/stop:",
        key="stop",
        disabled=job.stop_requested or not allowed,
        help="Ends training after the current batch and keeps the best model so far."
        if allowed
        else refusal_text("stop", job.owner, job.owner_name),
    ):
        if may_change_run(current_person(), job.owner):
            manager.stop(job.run_id)
    theirs = [other for other in manager.active() if job.owner is not None and other.owner == job.owner]
    if current_person().teacher and len(theirs) > 1:
        whose = literal(owner_label(job.owner, job.owner_name))
        if st.button(f"Stop all {len(theirs)} of {whose}'s trainings", icon=":material/block:", key="stop_all"):
            if current_person().teacher:
                manager.stop_all(job.owner)


def finished_run(run_id: str) -> None:
    try:
        info = store.info(run_id)
    except StoreError as error:  # gone, or damaged: the store's message says which, and why
        st.warning(f"{error} Start a new one with the settings above.", icon=":material/search_off:")
        return
    st.markdown(f"#### Run `{run_id}` {status_badge(info.status)}")
    st.caption(info.config.summary())
    whose_run(info.owner, info.owner_name, info.lesson)
    if info.status == FAILED:
        st.error(
            f"Training failed: {info.error}\n\nCheck the settings, free some disk space if the message "
            "mentions it, and start again. Nothing half-saved was kept.",
            icon=":material/error:",
        )
    elif info.status == INTERRUPTED:
        st.warning(
            f"This run was interrupted ({interruption(info.error)}). Its curves up to then are "
            "below" + (", and its best model so far is saved." if info.has_model else "."),
            icon=":material/power_off:",
        )
    training_charts(store.load_batches(run_id), store.load_history(run_id), info.config.epochs, key="done")
    network_code(info.config, key="train-run", name=f"network_{run_id}")
    settings_link(info.config, key="train-run")
    if info.metrics:
        taught_results(info, usable_runs(), key="train")
        st.subheader("Held-out test results")
        run_results(run_id, info.metrics, info.stop_reason, key="train")
    if info.has_model:
        draw, tune = st.columns(2)
        if draw.button("Draw digits for this model", icon=":material/draw:", type="primary"):
            st.switch_page("pages/draw.py", query_params={"run": run_id})
        with tune:
            fine_tune_button(info, key="train")
    st.fragment(inside_network)(run_id, info.config, key="train")


def interruption(error: str | None) -> str:
    """Why a run was interrupted: what the engine recorded (a cluster's lost machine), else the server stopping."""
    return error.rstrip(".") if error else "the server stopped while it trained"


def start_button(config: TrainConfig | None, shown_job, lesson: Lesson | None) -> None:
    """Start, or queue behind the trainings already running; one active run per browser tab."""
    started = st.session_state.setdefault("started_runs", set())
    own_run_active = shown_job is not None and shown_job.status in ACTIVE_STATUSES and shown_job.run_id in started
    person = current_person()
    help_text = (
        "Fix the highlighted setting first."
        if config is None
        else "Your run is still training: stop it or let it finish first."
        if own_run_active
        else "Sign in first (in the sidebar), so that the run is yours."
        if not person.can_train
        else None
    )
    if st.button(
        "Start training",
        type="primary",
        icon=":material/play_arrow:",
        disabled=config is None or own_run_active or not person.can_train,
        help=help_text,
    ):
        try:
            drawings = DrawingsRecord(folder=str(drawing_set().folder)) if config.include_drawings else None
            job = manager.submit(
                config,
                drawings,
                owner=person.owner,
                owner_name=person.name,
                share=queue_share(person),
                lesson=lesson.lesson_id if lesson is not None else None,
            )
        except StoreError as error:
            st.error(str(error), icon=":material/error:")
        else:
            started.add(job.run_id)
            # Through navigation, so the run id lands in the URL and a reload finds the run again.
            lesson_query = {"lesson": lesson.lesson_id} if lesson is not None else {}
            st.switch_page("pages/train.py", query_params={"run": job.run_id, **lesson_query})
    ahead = len(manager.active())
    if ahead and not own_run_active:
        st.caption(
            f"{ahead} training{'s' * (ahead > 1)} already running or waiting on this server: yours "
            "will wait in the queue and start on its own."
        )
    if config is not None and config != DEFAULTS:
        st.caption("Defaults: 2 layers of 512, ReLU, dropout 0.2 — the classic Keras MNIST network.")


lesson = opened_lesson()
run_id = train_page_run_id()
job = manager.get(run_id) if run_id else None
# A page opened on a run (after Start, a reload, a link) shows that run first, its settings folded away.
# Folded, they are not built at all (opening them reruns the page): the browser redraws every element
# on the page at each live update, on cores that may also be training.
watching = run_id is not None and st.query_params.get("run") == run_id
settings = (
    st.expander(
        "Settings: change them to start a new training", icon=":material/tune:", key="settings_open", on_change="rerun"
    )
    if watching
    else st.container()
)
if not watching or settings.open:
    with settings:
        form_column, summary_column = st.columns([3, 2], gap="large")
        with form_column:
            config = hyperparameter_form(lesson)
            if config is not None and config.augment:
                augmented_examples(config.seed)
        with summary_column:
            if config is not None:
                model_summary(config)
                if lesson is not None and lesson.challenge.any:
                    challenge_check(config, lesson)
            start_button(config, job, lesson)
            if config is not None:
                settings_link(config, key="form")

if not watching:
    st.divider()
if run_id is None:
    st.info(
        "No training yet. Press **Start training**: the default network reaches about 98% "
        "on the test set in about a minute.",
        icon=":material/lightbulb:",
    )
elif job is not None and not job.done:
    live_run(job)
else:
    finished_run(run_id)
