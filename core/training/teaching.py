"""Teach a model your handwriting, and measure it only on drawings it never saw.

Two ways to teach:

- **Include your drawings** (the settings' switch): a training from scratch mixes your drawings into
  MNIST's training images. A few dozen drawings would be lost among 55,000, so each is repeated
  (`copies_per_drawing`: together the setting `drawing_weight` of an epoch) and every repeat is a
  variant of it (core.training.drawing_variants: rotation, slant, width, a wobble, pen thickness),
  so repeats teach a style rather than the exact pixels; each is taught as a little less than sure of
  its digit (DRAWING_LABEL_SMOOTHING).
- **Fine-tune**: a short training (FINE_TUNE_EPOCHS epochs) that starts from a finished run's weights,
  on the same mix, its learning rate easing from the run's own down along a cosine
  (`fine_tune_learning_rate`). MNIST stays in the mix so that the model keeps what it knew; early
  stopping still watches MNIST's validation images.

Either way every HELD_OUT_EVERY-th drawing of each digit (in the order of their content hashes) is
kept out, and the run records in drawings.json (core.runs.drawings_record) which drawings it trained on,
its parent's included, before it trains. A model is scored only on drawings whose content is not in
its record; where the record is missing or damaged, or the model was imported (trained elsewhere),
it is not scored on your drawings at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.config import NUM_CLASSES, SETTING, TrainConfig
from core.drawings.folder import Drawing, DrawingSet, DrawingSetError
from core.keras_file.errors import ModelImportError
from core.keras_file.reading import read_stored_model
from core.runs.drawings_record import DrawingRef, DrawingsRecord
from core.runs.states import FINISHED_WITH_RESULTS, IMPORTED
from core.runs.store import RunInfo, RunStore, StoreError
from core.training.drawing_variants import vary

HELD_OUT_EVERY = 5  # of each digit's drawings, every fifth is kept out of training, to test on
# Repeats of one drawing per epoch, at most: for a handful of drawings the weight alone would ask for tens of
# thousands of copies of each.
MAX_COPIES = 2_500
VARY_BATCH = 8_192  # variants made at a time, so that a class's weight of 0.8 needs no gigabytes
# A variant is taught as 90% sure of its digit, not 100%: a strong variant can look like another digit (a bent
# 1 like a 7), and pushing it to certainty moves the boundaries MNIST's digits need. bench/handwriting.py's choice.
DRAWING_LABEL_SMOOTHING = 0.1
FINE_TUNE_EPOCHS = 6  # long enough to learn a style from the drawings: bench/handwriting.py's choice


class TeachingError(RuntimeError):
    """Training on your drawings cannot start (no drawings, a parent that is gone...); the message says why."""


# --- which drawings train, and how much --------------------------------------------------------


def split_for_training(
    drawings: tuple[Drawing, ...] | list[Drawing],
    trained_before: frozenset[str] = frozenset(),
    kept_out_before: frozenset[str] = frozenset(),
) -> tuple[list[Drawing], list[Drawing]]:
    """(to train on, kept out): every HELD_OUT_EVERY-th drawing of each digit, in content-hash order, is kept out.

    Files with the same content count once (the first by name), so a copy can never sit on both
    sides. For a fine-tune, what its parent trained on (`trained_before`, content hashes) trains
    again, and what its parent kept out (`kept_out_before`) stays out: it still tests both of them.
    """
    unique: dict[str, Drawing] = {}
    for drawing in sorted(drawings, key=lambda d: d.name):
        unique.setdefault(drawing.sha256, drawing)
    train, held_out = [], []
    for digit in range(10):
        of_digit = sorted((d for d in unique.values() if d.label == digit), key=lambda d: d.sha256)
        for rank, drawing in enumerate(of_digit):
            if drawing.sha256 in trained_before:
                keep_out = False
            elif drawing.sha256 in kept_out_before:
                keep_out = True
            else:
                keep_out = rank % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
            (held_out if keep_out else train).append(drawing)
    return sorted(train, key=lambda d: d.name), sorted(held_out, key=lambda d: d.name)


def copies_per_drawing(drawings: int, mnist_images: int, share: float) -> int:
    """Repeats of each drawing per epoch, so that together they make about `share` of the epoch's images."""
    if drawings <= 0:
        return 0
    wanted = share / (1 - share) * mnist_images / drawings
    return max(1, min(MAX_COPIES, math.ceil(wanted)))


def fine_tune_config(parent: TrainConfig, weight: float | None = None) -> TrainConfig:
    """The settings of a fine-tune of `parent`: its network and learning rate (where the fine-tune's schedule,
    `fine_tune_learning_rate`, starts), your drawings in at `weight` (default: the setting's default),
    FINE_TUNE_EPOCHS epochs, all of them run (early stopping still keeps the best on MNIST's validation)."""
    return parent.replace(
        include_drawings=True,
        drawing_weight=SETTING["drawing_weight"].default if weight is None else weight,
        epochs=FINE_TUNE_EPOCHS,
        patience=0,
        reduce_lr=False,
    )


def fine_tune_learning_rate(config: TrainConfig, epoch: int) -> float:
    """A fine-tune's learning rate in `epoch` (from 0): the run's own at first, easing towards zero along half a
    cosine over its epochs. The early, large steps move the network towards the drawings' style; the late, small
    ones let it settle where MNIST's digits are still read as before. Against a constant, small rate the other
    writers' digits were read as well and MNIST's cost fell to about a third (docs/benchmarks.md)."""
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / config.epochs))


def untaught(config: TrainConfig) -> TrainConfig:
    """`config` without your drawings (and so with any weight for them: it then means nothing)."""
    return config.replace(include_drawings=False, drawing_weight=SETTING["drawing_weight"].default)


def fine_tune_refusal(run: RunInfo) -> str | None:
    """Why `run` cannot be fine-tuned, in a sentence; None when it can."""
    if run.stop_reason == IMPORTED:
        return (
            "It was imported, trained elsewhere: nobody can tell which of your drawings it saw, so its "
            "fine-tune could not be tested honestly. Fine-tune a model trained here."
        )
    if run.status not in FINISHED_WITH_RESULTS or not run.has_model:
        return "Only a finished run with a saved model can be fine-tuned."
    return None


def fine_tune_parent(store: RunStore, run_id: str) -> RunInfo:
    """The stored run `run_id`, if it can be fine-tuned; TeachingError saying why not."""
    try:
        parent = store.info(run_id)
    except StoreError as error:
        raise TeachingError(f"The run to fine-tune cannot be used: {error}") from None
    refusal = fine_tune_refusal(parent)
    if refusal:
        raise TeachingError(f"Run {run_id} cannot be fine-tuned: {refusal}")
    return parent


# --- what a run has seen, and its score on the rest -----------------------------------------------


def trained_drawings(store: RunStore, run: RunInfo) -> frozenset[str] | None:
    """The content hashes of the drawings `run` trained on; None when that cannot be known.

    A run trained without your drawings saw none. An imported model was trained elsewhere, and a
    run whose record is missing or damaged may have seen any: neither is scored on your drawings.
    """
    if run.stop_reason == IMPORTED or run.config is None:
        return None
    if not run.config.include_drawings:
        return frozenset()
    try:
        record = store.load_drawings_record(run.run_id)
    except StoreError:
        return None
    if record is None or record.trained_on is None:
        return None
    return record.trained_hashes()


def untrained(drawings, trained: frozenset[str]) -> list[Drawing]:
    """The drawings whose content is not in `trained`, one per content."""
    unique: dict[str, Drawing] = {}
    for drawing in sorted(drawings, key=lambda d: d.name):
        if drawing.sha256 not in trained:
            unique.setdefault(drawing.sha256, drawing)
    return list(unique.values())


@dataclass(frozen=True)
class DrawingScore:
    """How a model read drawings it never trained on: how many, how many right, and which digits it missed."""

    tested: int
    correct: int
    missed: tuple[tuple[str, int, int], ...] = ()  # (file name, true digit, read as)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.tested if self.tested else None


def score(classifier, drawings: list[Drawing]) -> DrawingScore:
    """Read each drawing with `classifier` (core.drawings.inference.Classifier) and count the right answers."""
    if not drawings:
        return DrawingScore(0, 0)
    predicted = classifier.predict(np.stack([d.image for d in drawings])).argmax(axis=1)
    labels = np.array([d.label for d in drawings])
    missed = tuple((d.name, d.label, int(p)) for d, p in zip(drawings, predicted) if p != d.label)
    return DrawingScore(len(drawings), int((predicted == labels).sum()), missed)


def score_run(store: RunStore, run: RunInfo, classifier, drawings) -> DrawingScore | None:
    """`run`'s score on the drawings it did not train on; None when which it saw cannot be known."""
    trained = trained_drawings(store, run)
    return None if trained is None else score(classifier, untrained(drawings, trained))


@dataclass(frozen=True)
class Baseline:
    """What a run's MNIST test accuracy is compared with: its parent, or the same settings without drawings."""

    name: str
    test_accuracy: float


def mnist_baseline(store: RunStore, run: RunInfo, runs: list[RunInfo]) -> Baseline | None:
    """For a run taught with your drawings: the MNIST test accuracy it should be held against.

    A fine-tune against its parent (recorded at the start, so it stays known if the parent is
    deleted); a run that included drawings from scratch against the newest finished run with the same
    settings that did not. None for other runs, or when there is nothing to compare with.
    """
    if run.config is None or not run.config.include_drawings:
        return None
    try:
        record = store.load_drawings_record(run.run_id)
    except StoreError:
        record = None
    if record is not None and record.parent is not None:
        if record.parent_test_accuracy is None:
            return None
        return Baseline(f"its parent {record.parent}", record.parent_test_accuracy)
    twin = untaught_twin(run, runs)
    if twin is None:
        return None
    return Baseline(f"{twin.display_name}, the same settings without your drawings", twin.metrics.test_accuracy)


def untaught_twin(run: RunInfo, runs: list[RunInfo]) -> RunInfo | None:
    """The newest finished run in `runs` with `run`'s settings but without your drawings (trained here)."""
    plain = untaught(run.config)
    same = [
        r
        for r in runs
        if r.config is not None
        and not r.config.include_drawings
        and untaught(r.config) == plain
        and r.metrics is not None
        and r.stop_reason != IMPORTED
    ]
    return max(same, key=lambda r: r.created) if same else None


# --- the training worker's side -------------------------------------------------------------------


@dataclass(frozen=True)
class TeachingPlan:
    """What a training adds for your drawings: the images to train on, their repeats, the starting weights."""

    images: np.ndarray  # (drawings, 28, 28) float32
    labels: np.ndarray
    copies: int
    start_weights: list[np.ndarray] | None  # the parent's Dense weights, for a fine-tune
    record: DrawingsRecord


def plan_teaching(store: RunStore, run_id: str, config: TrainConfig, mnist_images: int) -> TeachingPlan:
    """Read the run's drawings and its parent, choose what trains and what is kept out, and record it.

    The record is saved before this returns, so before any model of the run exists. Raises
    TeachingError, having trained nothing, when there is nothing to train on or the parent cannot be used.
    """
    try:
        record = store.load_drawings_record(run_id)
    except StoreError as error:
        raise TeachingError(str(error)) from None
    if record is None:
        raise TeachingError(f"Run {run_id} was made without a drawings folder, so it has no drawings to include.")
    inherited: tuple[DrawingRef, ...] = ()
    parent_kept_out: frozenset[str] = frozenset()
    start_weights, parent_accuracy = None, None
    if record.parent is not None:
        inherited, parent_kept_out, start_weights, parent_accuracy = _parent(store, record.parent, config)
    try:
        scan = DrawingSet(record.folder).scan()
    except DrawingSetError as error:
        raise TeachingError(str(error)) from None
    train, held_out = split_for_training(scan.drawings, frozenset(ref.sha256 for ref in inherited), parent_kept_out)
    if not train:
        raise TeachingError(
            f"There are no drawings in {record.folder} to train on. Save some from the Draw page, or put image "
            'files named after their digit there (like "7_mine.png"), then start again.'
        )
    copies = copies_per_drawing(len(train), mnist_images, config.drawing_weight)
    known = {ref.sha256 for ref in inherited}
    trained_on = inherited + tuple(_ref(d) for d in train if d.sha256 not in known)
    record = record.with_training(
        parent_test_accuracy=parent_accuracy,
        copies=copies,
        trained_on=trained_on,
        held_out=tuple(_ref(d) for d in held_out),
    )
    store.save_drawings_record(run_id, record)
    return TeachingPlan(
        images=np.stack([d.image for d in train]).astype(np.float32),
        labels=np.array([d.label for d in train], dtype=np.uint8),
        copies=copies,
        start_weights=start_weights,
        record=record,
    )


def _ref(drawing: Drawing) -> DrawingRef:
    return DrawingRef(drawing.name, drawing.label, drawing.sha256)


def _parent(store: RunStore, parent_id: str, config: TrainConfig):
    """(drawings it trained on, the hashes of those it kept out, its Dense weights, its MNIST test accuracy);
    TeachingError if it cannot be used."""
    parent = fine_tune_parent(store, parent_id)
    trained = trained_drawings(store, parent)
    if trained is None:
        raise TeachingError(
            f"Run {parent_id}'s record of the drawings it trained on cannot be read, so a fine-tune could "
            "not be tested honestly."
        )
    record = store.load_drawings_record(parent_id) if parent.config.include_drawings else None
    inherited = record.trained_on if record is not None else ()
    kept_out = frozenset(ref.sha256 for ref in record.held_out) if record is not None else frozenset()
    path = store.model_path(parent_id)
    if path is None:
        raise TeachingError(f"Run {parent_id} has no saved model to fine-tune.")
    try:
        archive = read_stored_model(path)
    except (OSError, ModelImportError) as error:
        raise TeachingError(f"Run {parent_id}'s model cannot be read: {error}") from None
    if (archive.config.hidden_layers, archive.config.activation) != (config.hidden_layers, config.activation):
        raise TeachingError(f"Run {parent_id}'s model is not the network this fine-tune was set up for.")
    accuracy = parent.metrics.test_accuracy if parent.metrics is not None else None
    return tuple(inherited), kept_out, archive.weights, accuracy


def training_arrays(
    x_train: np.ndarray, y_train: np.ndarray, plan: TeachingPlan, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training images with `plan.copies` variants of each drawing appended (fit shuffles them in), and
    each image's target: ten probabilities, MNIST's sure of their digit, the variants DRAWING_LABEL_SMOOTHING less."""
    rng = np.random.default_rng(seed)
    repeats = np.repeat(plan.images, plan.copies, axis=0)
    images = np.empty(repeats.shape, dtype=x_train.dtype)
    for start in range(0, len(repeats), VARY_BATCH):  # vary's coordinate maps take ~50 bytes a pixel
        images[start : start + VARY_BATCH] = vary(repeats[start : start + VARY_BATCH], rng)
    variant_targets = targets(np.repeat(plan.labels, plan.copies, axis=0), DRAWING_LABEL_SMOOTHING)
    return np.concatenate([x_train, images]), np.concatenate([targets(y_train), variant_targets])


def targets(labels: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """(n, 10) float32 probabilities: `1 - smoothing` on each label's digit, the rest shared by all ten."""
    out = np.full((len(labels), NUM_CLASSES), smoothing / NUM_CLASSES, dtype=np.float32)
    out[np.arange(len(labels)), labels] += 1 - smoothing
    return out
