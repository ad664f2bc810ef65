"""Widgets shared by the pages: run store access, live progress, training curves, results.

Not a page itself: app.py routes with st.navigation, so files here are only
pages when app.py lists them.
"""

from __future__ import annotations

import secrets

import numpy as np
import streamlit as st

from core import figures
from core.classroom import (
    ClassroomConfigError,
    ClassroomSettings,
    Person,
    account_owner,
    browser_owner,
    clean_name,
    is_browser_token,
    may_change,
    placeholder_name,
    refusal,
)
from core.data import bundled_mnist
from core.drawing_set import DrawingScan, DrawingSet, DrawingSetError, default_drawings_dir
from core.drawings_record import DrawingsRecord
from core.evaluation import RunMetrics
from core.execution import ExecutionSetupError
from core.inference import Classifier, ModelLoadError
from core.jobs import JobManager, TrainingJob, shared_manager
from core.progress import format_duration, progress_line
from core.run_states import IMPORTED, LOOKS, QUEUED, RUNNING, stop_reason_text
from core.store import RunInfo, RunStore, StoreError, is_run_id
from core.teaching import (
    FINE_TUNE_EPOCHS,
    DrawingScore,
    fine_tune_config,
    fine_tune_refusal,
    mnist_baseline,
    score_run,
    split_for_training,
)
from pages._streamlit_internals import route_every_page_through_app

route_every_page_through_app()

OWNER_COOKIE = "mnist_trainer_owner"
# Runs in the page (components v2): the browser's token from its cookie (or localStorage), or a new random one,
# kept in both for a year and handed to the app. crypto.getRandomValues works on plain http too (a class's LAN).
_IDENTITY_JS = r"""
export default function ({ setStateValue }) {
  const name = "__COOKIE__";
  const valid = (t) => typeof t === "string" && /^[A-Za-z0-9_-]{22,64}$/.test(t);
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  let token = cookie ? decodeURIComponent(cookie.slice(name.length + 1)) : null;
  if (!valid(token)) {
    try { token = window.localStorage.getItem(name); } catch (e) { token = null; }
  }
  if (!valid(token)) {
    const bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  document.cookie = name + "=" + token + "; path=/; max-age=31536000; SameSite=Strict";
  try { window.localStorage.setItem(name, token); } catch (e) {}
  setStateValue("token", token);
}
""".replace("__COOKIE__", OWNER_COOKIE)
_browser_identity = st.components.v2.component("browser_identity", js=_IDENTITY_JS)


def status_badge(status: str) -> str:
    """A run's status as a coloured badge (Streamlit Markdown)."""
    look = LOOKS.get(status)
    return f":{look.colour}-badge[:material/{look.icon}: {look.word}]" if look else status


def run_store() -> RunStore:
    return RunStore()


def usable_runs() -> list[RunInfo]:
    """Every run whose files could be read, newest first. Damaged runs are left to the Runs page."""
    try:
        runs = run_store().list_runs()
    except StoreError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    return [run for run in runs if run.problem is None]


def job_manager() -> JobManager:
    try:
        return shared_manager(run_store())
    except ExecutionSetupError as error:  # the server's environment variables: the host has to fix them
        st.error(f"Training is not set up right on this server: {error}", icon=":material/error:")
        st.stop()


# --- who is looking: owners, the teacher ---------------------------------------------------------


def classroom_settings() -> ClassroomSettings:
    """The `[classroom]` (and `[auth]`) part of .streamlit/secrets.toml; defaults when there is no such file."""
    try:
        found = st.secrets.to_dict() if st.secrets.load_if_toml_exists() else {}
        return ClassroomSettings.from_secrets(found)
    except ClassroomConfigError as error:
        st.error(f"The class settings in secrets.toml cannot be used: {error}", icon=":material/error:")
        st.stop()


def recognise_browser() -> None:
    """Learn this browser's token once per session: from its cookie, or from the identity component.

    Called by app.py on every page, before the page runs. The token is the browser's secret: it never goes
    into a URL, onto a page or into the store (only its hash does, as the owner).
    """
    if is_browser_token(st.context.cookies.get(OWNER_COOKIE)) or "browser_token" in st.session_state:
        return
    token = _browser_identity(key="browser_identity", on_token_change=lambda: None).get("token")
    if is_browser_token(token):
        st.session_state["browser_token"] = token


def _browser_token() -> str:
    """The cookie sent when the page was opened; else what the component said; else this tab's own, until it says."""
    token = st.context.cookies.get(OWNER_COOKIE)
    if is_browser_token(token):
        return token
    token = st.session_state.get("browser_token")
    if is_browser_token(token):
        return token
    # A browser that keeps nothing (or has not answered yet, for an instant on the first visit): this tab.
    return st.session_state.setdefault("tab_token", secrets.token_urlsafe(24))


def current_person() -> Person:
    """Who is looking: their signed-in account where the class signs in (st.login), else their browser.

    The teacher: a signed-in account listed in secrets.toml, or a browser that signed in with the teacher password.
    """
    settings = classroom_settings()
    classroom = run_store().classroom()
    if settings.login:
        if not st.user.get("is_logged_in"):
            return Person(owner=None, name="")
        email = st.user.get("email")
        owner = account_owner(email or st.user.get("sub") or "")
        name = classroom.names.get(owner) or clean_name(st.user.get("name") or email) or placeholder_name(owner)
        teacher = settings.is_teacher_account(email) or settings.is_teacher_mark(owner, classroom.teachers.get(owner))
        return Person(owner=owner, name=name, teacher=teacher)
    owner = browser_owner(_browser_token())
    name = classroom.names.get(owner) or placeholder_name(owner)
    return Person(owner=owner, name=name, teacher=settings.is_teacher_mark(owner, classroom.teachers.get(owner)))


def owner_label(owner: str | None, owner_name: str) -> str:
    """How a run's owner is shown: their name, a placeholder, or that it is nobody's."""
    return owner_name or (placeholder_name(owner) if owner else "nobody (command line or older)")


def may_change_run(person: Person, owner: str | None) -> bool:
    return may_change(person, owner, classroom_settings())


def refusal_text(action: str, owner: str | None, owner_name: str) -> str:
    return refusal(action, owner_label(owner, owner_name) if owner else "", classroom_settings())


def identity_sidebar() -> None:
    """On every page: who you are here (your name, which you can change), and the teacher's or the class's sign-in."""
    settings = classroom_settings()
    person = current_person()
    st.caption("YOU")
    if settings.login and not st.user.get("is_logged_in"):
        st.caption("Sign in to train and to own your runs; you can look at everything without.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, key="sign_in")
    else:
        with st.popover(person.name or "You", icon=":material/person:"):
            your_name_form(person)
        if settings.login:
            st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign_out")
    if person.teacher:
        st.caption("Teacher: you can stop, relabel and delete every run.")
        if person.owner in run_store().classroom().teachers and st.button("Leave teacher mode", key="leave_teacher"):
            run_store().remember_teacher(person.owner, None)
            st.rerun()
    elif settings.teacher_password and person.owner is not None:
        with st.popover("Teacher", icon=":material/school:"):
            teacher_sign_in(settings, person)


def your_name_form(person: Person) -> None:
    with st.form("your_name", border=False):
        name = st.text_input(
            "Your name",
            value=person.name,
            max_chars=40,
            help="Others see it beside your runs.",
            key=f"your_name_{person.owner[:12]}",  # one field per person: the first visit starts as the tab
        )
        if st.form_submit_button("Save name"):
            try:
                run_store().set_person_name(person.owner, name)
            except StoreError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.rerun()


def teacher_sign_in(settings: ClassroomSettings, person: Person) -> None:
    """The teacher password makes this browser (or account) the teacher's, kept in the store across reloads."""
    with st.form("teacher_sign_in", border=False):
        attempt = st.text_input("Teacher password", type="password")
        if st.form_submit_button("Sign in as teacher"):
            if settings.password_matches(attempt):
                try:
                    run_store().remember_teacher(person.owner, settings.teacher_mark(person.owner))
                except StoreError as error:
                    st.error(str(error), icon=":material/error:")
                else:
                    st.rerun()
            else:
                st.error("That is not the teacher password.", icon=":material/key_off:")


def progress_text(job: TrainingJob) -> str:
    return progress_line(job.progress())


def train_page_run_id() -> str | None:
    """The run the Train page shows: from the URL (survives a reload), else your own active one, if any."""
    run_id = st.query_params.get("run")
    if run_id and is_run_id(run_id):
        return run_id
    owner = current_person().owner
    yours = [job for job in job_manager().active() if owner is not None and job.owner == owner]
    return yours[0].run_id if yours else None


# The sidebar's refresh. Each is a rerun of its fragment: the server's work and a render in the browser, which
# delays a stroke on the Draw page that lands on it (bench/browser_latency.py: p95 about 15 ms higher with a
# refresh each second than with none) and costs a class's server a rerun per open page. A refresh that changed
# with the state (slow while nothing trains) needed a rerun of the whole page to switch, on every open page at
# once: under a class's short trainings that was a storm of full reruns (tests/e2e/test_classroom.py).
SIDEBAR_POLL_SECONDS = 2.0


def training_status_sidebar(on_train_page: bool) -> None:
    """On every page: what is training now and what waits, refreshed every `SIDEBAR_POLL_SECONDS`.

    Not on the Train page while it shows a live run: that page already shows the run's progress, and
    every extra rerun costs the browser CPU that the training on this machine may need.
    """
    run_id = train_page_run_id() if on_train_page else None
    if run_id and job_manager().is_active(run_id):
        st.caption("TRAINING")
        st.caption("Its progress is on this page.")
    else:
        st.fragment(_training_status, run_every=SIDEBAR_POLL_SECONDS)()


def _training_status() -> None:
    """What trains now (with whose it is) and how many wait; your own queued run's place, if you have one."""
    manager = job_manager()
    active = manager.active()
    st.caption("TRAINING")
    if not active:
        st.caption("Nothing is training right now.")
        return
    running = [job for job in active if job.status == RUNNING]
    waiting = [job for job in active if job.status == QUEUED]
    for job in running:
        name = f"{job.config.shape_label()} · {owner_label(job.owner, job.owner_name)}" if job.owner else ""
        st.progress(job.progress().fraction, text=f"{name or job.config.shape_label()} · {progress_text(job)}")
    owner = current_person().owner
    mine = [job for job in active if owner is not None and job.owner == owner]
    if waiting:
        queued = [job for job in mine if job.status == QUEUED]
        yours = f" Yours: {manager.jobs_ahead(queued[0].run_id)} ahead." if queued else ""
        st.caption(f"{len(waiting)} waiting.{yours}")
    watched = (mine or active)[0]
    st.page_link(
        "pages/train.py",
        label="Watch yours" if mine else "Watch it",
        icon=":material/monitoring:",
        query_params={"run": watched.run_id},
    )


def training_charts(batches: list[dict], epochs: list[dict], max_epochs: int, key: str) -> None:
    """Loss and accuracy curves of a run that is not training (a live one has pages/_live_chart.py)."""
    st.plotly_chart(
        figures.training_curves(batches, epochs, max_epochs),
        key=f"{key}-curves",
        config={"displayModeBar": False},
    )


def upscale(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a 28x28 image with hard pixel edges, so a learner sees the real pixels."""
    return np.kron(np.asarray(image, dtype=np.float32), np.ones((factor, factor), dtype=np.float32)).clip(0, 1)


def misclassified_gallery(metrics: RunMetrics, columns: int = 8, most: int = 24) -> None:
    mistakes = metrics.misclassified[:most]
    if not mistakes:
        st.success("No test image was misclassified.")
        return
    x_test = bundled_mnist()["x_test"]
    st.caption("The test digits the model got wrong with the most confidence. Would you have read them right?")
    cells = st.columns(columns)
    for i, mistake in enumerate(mistakes):
        with cells[i % columns]:
            st.image(
                upscale(x_test[mistake.index] / 255.0),
                caption=f"true {mistake.true} → {mistake.predicted} ({mistake.confidence:.0%})",
            )


def run_results(run_id: str, metrics: RunMetrics, stop_reason: str | None, key: str) -> None:
    """Held-out results of a finished run: headline numbers, confusion matrix, per-digit accuracy, mistakes."""
    a, b, c, d = st.columns(4)
    a.metric("Test accuracy", f"{metrics.test_accuracy:.2%}")
    b.metric("Test loss", f"{metrics.test_loss:.4f}")
    c.metric("Epochs run", f"{metrics.epochs_run}", help=f"best validation epoch: {metrics.best_epoch}")
    d.metric("Training time", format_duration(metrics.train_seconds))
    if stop_reason == IMPORTED:
        st.caption(
            f"Measured on the {metrics.test_images:,} MNIST test images when the model was imported. "
            "It was trained elsewhere, so there are no training curves here."
        )
    else:
        st.caption(
            f"Measured on the {metrics.test_images:,} MNIST test images, which were never used for training, "
            f"early stopping or choosing the model. {stop_reason_text(stop_reason)}; the model kept is the one "
            f"from epoch {metrics.best_epoch}, the best on the validation set."
        )
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            figures.confusion_matrix_figure(metrics.confusion_matrix),
            key=f"{key}-confusion",
            config={"displayModeBar": False},
        )
    with right:
        st.plotly_chart(
            figures.per_class_accuracy_figure(metrics.per_class_accuracy),
            key=f"{key}-per-class",
            config={"displayModeBar": False},
        )
    st.subheader("Misclassified test digits")
    misclassified_gallery(metrics)


# --- your drawings ------------------------------------------------------------------------------


def drawing_set() -> DrawingSet:
    """The person's drawings: $MNIST_DRAWINGS_DIR, else drawings/ beside the run store."""
    return DrawingSet(default_drawings_dir(run_store().root))


def scan_drawings() -> DrawingScan:
    """What the drawings folder holds now; an unreadable folder is said once here and reads as empty."""
    drawings = drawing_set()
    try:
        return drawings.scan()
    except DrawingSetError as error:
        st.error(str(error), icon=":material/error:")
        return DrawingScan(drawings.folder, (), ())


@st.cache_resource(max_entries=32, show_spinner="Loading the model…")
def cached_classifier(path: str, modified: float) -> Classifier:
    """One loaded model per file version, shared by every session (read-only numpy arrays)."""
    return Classifier.load(path)


def run_classifier(run: RunInfo) -> Classifier | None:
    """The run's model, read with numpy; None when it has none that can be read."""
    path = run_store().model_path(run.run_id)
    try:
        return None if path is None else cached_classifier(str(path), path.stat().st_mtime)
    except (ModelLoadError, OSError):
        return None


def drawing_score(run: RunInfo, scan: DrawingScan) -> DrawingScore | None:
    """The run's score on the drawings it did not train on; None when it cannot be told honestly (or no model)."""
    if not scan.drawings or not run.has_model or run.config is None:
        return None
    classifier = run_classifier(run)
    return None if classifier is None else score_run(run_store(), run, classifier, scan.drawings)


def score_text(score: DrawingScore | None) -> str:
    if score is None:
        return "not tested: it may have seen any of them"
    if not score.tested:
        return "nothing left to test: it trained on every one"
    return f"{score.correct} of {score.tested} right ({score.accuracy:.0%})"


def drawings_lineage(run: RunInfo) -> str | None:
    """One sentence on what a run learnt from your drawings, and from which run; None if it used none."""
    if run.config is None or not run.config.include_drawings:
        return None
    try:
        record = run_store().load_drawings_record(run.run_id)
    except StoreError as error:
        return f"It trained on your drawings, but {error}"
    if record is None or record.trained_on is None:
        return "It is to train on your drawings." if record is not None else None
    text = f"Trained on {len(record.trained_on)} of your drawings, each {record.copies} times an epoch, varied"
    if record.parent:
        text = f"Fine-tuned from run `{record.parent}` for {run.config.epochs} epochs. " + text
    return text + f"; {len(record.held_out)} kept out to test on."


def taught_results(run: RunInfo, runs: list[RunInfo], key: str) -> None:
    """For a run that learnt from your drawings: what it learnt, its score on the rest, and MNIST's change."""
    lineage = drawings_lineage(run)
    if lineage is None or run.metrics is None:
        return
    st.subheader("Your handwriting")
    scan = scan_drawings()
    score = drawing_score(run, scan)
    baseline = mnist_baseline(run_store(), run, runs)
    left, right = st.columns(2)
    left.metric(
        "Your drawings it did not train on",
        "–" if score is None or not score.tested else f"{score.accuracy:.0%}",
        help=score_text(score),
    )
    if baseline is not None:
        change = (run.metrics.test_accuracy - baseline.test_accuracy) * 100
        right.metric(
            "MNIST test accuracy",
            f"{run.metrics.test_accuracy:.2%}",
            delta=f"{change:+.2f} points",
            help=f"Against {baseline.name}: {baseline.test_accuracy:.2%}.",
        )
    st.caption(
        lineage
        + (
            f" Of the {score.tested} it did not train on, it read {score.correct} right ({score.accuracy:.0%})."
            if score is not None and score.tested
            else ""
        )
        + (
            f" MNIST test accuracy against {baseline.name}: {baseline.test_accuracy:.2%}."
            if baseline is not None
            else " Train the same settings without your drawings to see what they cost on MNIST."
        )
    )


def fine_tune_button(run: RunInfo, key: str) -> None:
    """Fine-tune on your drawings: a short training from this run's weights, as a new run; opens it on Train."""
    refusal = fine_tune_refusal(run)
    if refusal is not None and run.stop_reason != IMPORTED:
        return  # not finished: nothing to offer yet
    scan = scan_drawings() if refusal is None else None
    trainable = split_for_training(scan.drawings)[0] if scan is not None else []
    help_text = (
        refusal
        or (None if trainable else "Save some drawings first: on the Draw page, or as files in " + str(scan.folder))
        or f"A new run: {FINE_TUNE_EPOCHS} epochs from this model's weights at a tenth of its learning rate, "
        f"on MNIST and {len(trainable)} of your drawings (every fifth of each digit kept out, to test on)."
    )
    if st.button(
        "Fine-tune on your drawings",
        icon=":material/draw:",
        key=f"{key}-fine-tune",
        disabled=refusal is not None or not trainable,
        help=help_text,
    ):
        record = DrawingsRecord(folder=str(scan.folder), parent=run.run_id)
        try:
            person = current_person()
            job = job_manager().submit(fine_tune_config(run.config), record, owner=person.owner, owner_name=person.name)
        except StoreError as error:
            st.error(str(error), icon=":material/error:")
            return
        st.session_state.setdefault("started_runs", set()).add(job.run_id)
        st.switch_page("pages/train.py", query_params={"run": job.run_id})
