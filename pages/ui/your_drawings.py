"""Your drawings as the pages show them: the folder, a run's score on those it did not train on, fine-tuning."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from core.config import DEFAULTS
from core.drawings.folder import DrawingScan, DrawingSet, DrawingSetError, default_drawings_dir, person_drawings_dir
from core.runs.drawings_record import DrawingsRecord
from core.runs.states import IMPORTED
from core.runs.store import RunInfo, StoreError
from core.training.teaching import (
    FINE_TUNE_EPOCHS,
    DrawingScore,
    fine_tune_config,
    fine_tune_refusal,
    mnist_baseline,
    score,
    score_run,
    split_for_training,
    trained_drawings,
    untaught,
    untaught_twin,
    untrained,
)
from core.views.charts import TradePoint, trade_figure
from pages.ui.identity import classroom_settings, current_person, queue_share
from pages.ui.store import job_manager, run_classifier, run_store
from pages.ui.text import literal


def drawing_set(owner: str | None = None) -> DrawingSet:
    """Whose drawings a page shows and saves: on a class's server (a teacher or sign-in set up) the person's own
    folder in the drawings folder, or `owner`'s (the teacher looking at someone's); with no class set up, the
    drawings folder itself ($MNIST_DRAWINGS_DIR, else drawings/ beside the run store), as for one person."""
    folder = default_drawings_dir(run_store().root)
    if not classroom_settings().has_class:
        return DrawingSet(folder)
    owner = owner or current_person().owner
    return DrawingSet(person_drawings_dir(folder, owner) if owner else folder / "nobody")  # signed out: none


def scan_drawings(owner: str | None = None) -> DrawingScan:
    """What the drawings folder holds now; an unreadable folder is said once here and reads as empty."""
    drawings = drawing_set(owner)
    try:
        return _scan(str(drawings.folder), _folder_state(drawings.folder))
    except DrawingSetError as error:
        st.error(str(error), icon=":material/error:")
        return DrawingScan(drawings.folder, (), ())


def _folder_state(folder: Path) -> tuple | None:
    """What changes when a drawing is saved, renamed or deleted in `folder` (every write is a rename into it)."""
    try:
        info = folder.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns


# One listing per state of the folder, shared by the page's parts and every session: a class's folder of
# thousands of drawings is a stat per file. A file changed in place by hand, under the same name, shows within
# the minute.
@st.cache_resource(max_entries=256, ttl=60, show_spinner=False)
def _scan(folder: str, state: tuple | None) -> DrawingScan:
    return DrawingSet(folder).scan()


def drawing_score(run: RunInfo, scan: DrawingScan) -> DrawingScore | None:
    """The run's score on the drawings it did not train on; None when it cannot be told honestly (or no model).

    Worked out once per state of the run's model and record and of the drawings, and kept: a page listing a
    class's runs then reads no model file it read before."""
    if not scan.drawings or not run.has_model or run.config is None:
        return None
    folder = run_store().run_dir(run.run_id)
    states = []
    for name in ("model.keras", "drawings.json"):
        try:
            info = (folder / name).stat()
            states.append((info.st_ino, info.st_size, info.st_mtime_ns))
        except OSError:
            states.append(None)
    key = (str(run_store().root), run.run_id, tuple(states), scan.digest)
    with _SCORES_LOCK:
        if key in _SCORES:
            return _SCORES[key]
    classifier = run_classifier(run)
    score = None if classifier is None else score_run(run_store(), run, classifier, scan.drawings)
    with _SCORES_LOCK:  # sessions score at once; the oldest go first
        _SCORES[key] = score
        while len(_SCORES) > MOST_SCORES:
            del _SCORES[next(iter(_SCORES))]
    return score


# Every session's scores, by run, the state of its model and record, and the drawings: a plain dict (Streamlit's
# caches hash their arguments on every call, which a page scoring a class's 200 runs felt).
_SCORES: dict[tuple, DrawingScore | None] = {}
MOST_SCORES = 4096
_SCORES_LOCK = threading.Lock()


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
        text = f"Fine-tuned from run {record.parent} for {run.config.epochs} epochs. " + text
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
            help=f"Against {literal(baseline.name)}: {baseline.test_accuracy:.2%}.",
        )
    trade = trade_points(run, runs, scan)
    if len(trade) > 1:
        tested = len(kept_out_drawings(run, scan))
        st.plotly_chart(trade_figure(trade, tested), key=f"{key}-trade", config={"displayModeBar": False})
    st.caption(
        lineage
        + (
            f" Of the {score.tested} it did not train on, it read {score.correct} right ({score.accuracy:.0%})."
            if score is not None and score.tested
            else ""
        )
        + (
            f" MNIST test accuracy against {literal(baseline.name)}: {baseline.test_accuracy:.2%}."
            if baseline is not None
            else " Train the same settings without your drawings to see what they cost on MNIST."
        )
    )


def kept_out_drawings(run: RunInfo, scan: DrawingScan) -> list:
    """The drawings `run` kept out to test on that are still in the folder (one per content)."""
    try:
        record = run_store().load_drawings_record(run.run_id)
    except StoreError:
        return []
    kept = {ref.sha256 for ref in record.held_out} if record is not None and record.held_out else set()
    return [d for d in untrained(scan.drawings, frozenset()) if d.sha256 in kept]


def trade_points(run: RunInfo, runs: list[RunInfo], scan: DrawingScan) -> list[TradePoint]:
    """The taught run, the model it is compared with, and the other runs taught from the same start at other
    weights (the same settings, or fine-tunes of the same run), all read on the drawings this run kept out."""
    tests = kept_out_drawings(run, scan)
    if not tests or run.metrics is None:
        return []
    start = _taught_from(run, runs)
    siblings = [
        other
        for other in runs
        if other.run_id != run.run_id
        and other.metrics is not None
        and other.config is not None
        and other.config.include_drawings
        and _same_but_weight(other, run)
        and _same_start(other, start, runs)
    ][: MOST_TRADE_POINTS - 2]
    taught = [_trade_point(other, tests) for other in siblings] + [_trade_point(run, tests, current=True)]
    points = (
        [_trade_point(start, tests, "untaught" if not start.config.include_drawings else "its start")]
        if (start is not None and start.metrics is not None)
        else []
    )
    return [p for p in points if p is not None] + sorted(
        (p for p in taught if p is not None), key=lambda p: (p.weight, not p.current)
    )


MOST_TRADE_POINTS = 12


def _same_start(run: RunInfo, start: RunInfo | None, runs: list[RunInfo]) -> bool:
    taught_from = _taught_from(run, runs)
    return (taught_from and taught_from.run_id) == (start and start.run_id)


def _same_but_weight(one: RunInfo, other: RunInfo) -> bool:
    return untaught(one.config) == untaught(other.config)


def _taught_from(run: RunInfo, runs: list[RunInfo]) -> RunInfo | None:
    """A fine-tune's parent, or the newest finished run of the same settings without your drawings."""
    try:
        record = run_store().load_drawings_record(run.run_id)
        if record is not None and record.parent is not None:
            return run_store().info(record.parent)
    except StoreError:
        return None
    return untaught_twin(run, runs)


def _trade_point(run: RunInfo, tests: list, label: str | None = None, current: bool = False) -> TradePoint | None:
    classifier = run_classifier(run)
    trained = trained_drawings(run_store(), run)
    if classifier is None or trained is None:
        return None
    unseen = untrained(tests, trained)
    if len(unseen) < len(tests):  # it trained on some of them: not on the same footing
        return None
    result = score(classifier, unseen)
    label = label or f"weight {run.config.drawing_weight:.0%}"
    weight = run.config.drawing_weight if run.config.include_drawings else 0.0
    return TradePoint(label, run.metrics.test_accuracy, result.accuracy, weight, current)


def fine_tune_button(run: RunInfo, key: str, weight: float | None = None) -> None:
    """Fine-tune on your drawings (at `weight`; default: the setting's default): a short training from this run's
    weights, as a new run; opens it on Train."""
    refusal = fine_tune_refusal(run)
    if refusal is not None and run.stop_reason != IMPORTED:
        return  # not finished: nothing to offer yet
    scan = scan_drawings() if refusal is None else None
    config = fine_tune_config(run.config, weight) if run.config is not None else DEFAULTS
    trainable = split_for_training(scan.drawings)[0] if scan is not None else []
    help_text = (
        refusal
        or (None if trainable else "Save some drawings first: on the Draw page, or as files in " + str(scan.folder))
        or f"A new run: {FINE_TUNE_EPOCHS} epochs from this model's weights, its learning rate easing from this "
        f"model's towards zero, on MNIST and {len(trainable)} of your drawings, together "
        f"{config.drawing_weight:.0%} of each epoch (every fifth of each digit kept out, to test on)."
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
            job = job_manager().submit(
                config,
                record,
                owner=person.owner,
                owner_name=person.name,
                share=queue_share(person),
            )
        except StoreError as error:
            st.error(str(error), icon=":material/error:")
            return
        st.session_state.setdefault("started_runs", set()).add(job.run_id)
        st.switch_page("pages/train.py", query_params={"run": job.run_id})
