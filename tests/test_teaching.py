"""Teaching a model your handwriting: what trains, what is kept out, and that no score includes what it saw.

The trainings are real and tiny (the session's `taught` fixture in conftest.py): MNIST's first 5,000
images, a 32-unit network, and a folder of 15 hollow squares labelled 7 (a "7" no MNIST writer drew)
and 5 strokes labelled 1.
"""

import hashlib
import json
import shutil

import numpy as np
import pytest

from core.config import DEFAULTS
from core.drawings.folder import Drawing, DrawingSet
from core.drawings.inference import Classifier
from core.drawings.preprocessing import preprocess_drawing
from core.runs.drawings_record import DrawingsRecord, RecordError
from core.runs.store import RunStore
from core.training.teaching import (
    DRAWING_LABEL_SMOOTHING,
    FINE_TUNE_EPOCHS,
    MAX_COPIES,
    TeachingError,
    TeachingPlan,
    copies_per_drawing,
    fine_tune_config,
    plan_teaching,
    score,
    score_run,
    split_for_training,
    trained_drawings,
    training_arrays,
    untrained,
)
from tests.conftest import LINES, SQUARES, square_canvas
from tests.test_cli import run_cli


def fake_drawing(name: str, label: int, content: str) -> Drawing:
    return Drawing(name, label, hashlib.sha256(content.encode()).hexdigest(), np.zeros((28, 28), np.float32))


def test_every_fifth_drawing_of_each_digit_is_kept_out_and_copies_sit_on_one_side():
    drawings = [fake_drawing(f"{d}_{i}.png", d, f"{d}-{i}") for d in (1, 7) for i in range(12)]
    drawings.append(fake_drawing("7_copy.png", 7, "7-3"))  # the same content as 7_3.png
    train, held_out = split_for_training(drawings)
    assert [sum(d.label == digit for d in held_out) for digit in (1, 7)] == [2, 2]
    assert len(train) == 20 and not {d.sha256 for d in train} & {d.sha256 for d in held_out}
    assert split_for_training(list(reversed(drawings))) == (train, held_out)  # the same whatever the order
    # For a fine-tune: what the parent trained on trains again (it cannot test the fine-tune), and what the
    # parent kept out stays out (it still tests both).
    seen, unseen = frozenset(d.sha256 for d in held_out), frozenset(d.sha256 for d in train[:3])
    train_again, held_again = split_for_training(drawings, seen, unseen)
    assert seen <= {d.sha256 for d in train_again} and not seen & {d.sha256 for d in held_again}
    assert unseen <= {d.sha256 for d in held_again}


@pytest.mark.parametrize("weight", [0.05, 0.1, 0.3, 0.65, 0.8])
def test_drawings_are_repeated_to_their_weight_of_an_epoch_within_a_cap(weight):
    copies = copies_per_drawing(100, 55_000, weight)
    assert pytest.approx(weight, abs=0.002) == 100 * copies / (55_000 + 100 * copies)
    assert copies_per_drawing(1, 55_000, weight) == MAX_COPIES and copies_per_drawing(0, 55_000, weight) == 0
    assert copies_per_drawing(5_000, 1_000, weight) == 1  # never fewer than one


def test_mnist_is_taught_as_it_is_and_the_variants_of_a_drawing_less_than_sure():
    mnist, digits = np.random.default_rng(0).random((4, 28, 28), np.float32), np.array([0, 1, 2, 3], np.uint8)
    drawing = preprocess_drawing(square_canvas(np.random.default_rng(1))).image
    plan = TeachingPlan(drawing[None], np.array([7], np.uint8), copies=6, start_weights=None, record=None)
    images, targets = training_arrays(mnist, digits, plan, seed=0)
    assert images.shape == (10, 28, 28) and targets.shape == (10, 10) and np.allclose(targets.sum(axis=1), 1)
    assert np.array_equal(images[:4], mnist) and np.array_equal(targets[:4], np.eye(10, dtype=np.float32)[digits])
    sure, rest = 1 - DRAWING_LABEL_SMOOTHING + DRAWING_LABEL_SMOOTHING / 10, DRAWING_LABEL_SMOOTHING / 10
    assert np.allclose(targets[4:, 7], sure) and np.allclose(np.delete(targets[4:], 7, axis=1), rest)
    assert len({variant.tobytes() for variant in images[4:]}) == 6  # each repeat its own variant


def test_a_fine_tune_is_short_from_its_parents_network_at_the_weight_asked(tiny_config):
    tune = fine_tune_config(tiny_config.replace(drawing_weight=0.5))
    assert tune.hidden_layers == tiny_config.hidden_layers and tune.include_drawings
    assert tune.learning_rate == tiny_config.learning_rate  # where its schedule starts
    assert tune.epochs == FINE_TUNE_EPOCHS and tune.drawing_weight == DEFAULTS.drawing_weight
    assert fine_tune_config(tiny_config, 0.15).drawing_weight == 0.15


def test_a_score_counts_only_drawings_whose_content_was_not_trained_on():
    drawings = [fake_drawing(f"1_{i}.png", 1, str(i)) for i in range(6)]
    renamed = fake_drawing("1_renamed.png", 1, "0")  # a copy of 1_0.png under another name
    trained = frozenset({drawings[0].sha256, drawings[1].sha256})
    rest = untrained([*drawings, renamed], trained)
    assert [d.name for d in rest] == ["1_2.png", "1_3.png", "1_4.png", "1_5.png"]

    class ReadsEverythingAsOne:
        def predict(self, images):
            return np.tile(np.eye(10)[1], (len(images), 1))

    result = score(ReadsEverythingAsOne(), rest)
    assert (result.tested, result.correct, result.accuracy) == (4, 4, 1.0)


@pytest.mark.parametrize(
    "damage",
    [[], {"folder": ""}, {"folder": "/d", "trained_on": [{"name": "1_a.png", "label": 11, "sha256": "0" * 64}]}],
)
def test_a_damaged_record_is_refused(damage):
    with pytest.raises(RecordError):
        DrawingsRecord.from_dict(damage)


def test_including_drawings_records_what_trained_and_what_was_kept_out(taught):
    record = taught.store.load_drawings_record(taught.include)
    scan = taught.drawings.scan()
    by_name = {d.name: d for d in scan.drawings}
    assert len(record.trained_on) == SQUARES + LINES - 3 - 1 and len(record.held_out) == 3 + 1
    for ref in record.trained_on + record.held_out:  # names, digits and content hashes of real files
        assert (by_name[ref.name].label, by_name[ref.name].sha256) == (ref.label, ref.sha256)
    assert not record.trained_hashes() & {ref.sha256 for ref in record.held_out}
    config = taught.store.load_config(taught.include)
    assert record.copies == copies_per_drawing(16, 5_000, config.drawing_weight) and record.parent is None
    metrics = taught.store.load_metrics(taught.include)
    assert metrics.test_images == 10_000 and 0.5 < metrics.test_accuracy < 1  # MNIST is still reported
    assert metrics.train_images == 5_000 + 16 * record.copies


def test_reported_accuracy_never_includes_a_drawing_the_model_trained_on(taught, tmp_path):
    store = RunStore(taught.store.root)
    folder = tmp_path / "drawings"
    shutil.copytree(taught.drawings.folder, folder)
    trained = store.load_drawings_record(taught.include).trained_on
    shutil.copy(folder / trained[0].name, folder / f"{trained[0].label}_renamed-copy.png")  # same content, new name
    scan = DrawingSet(folder).scan()
    for run_id in (taught.include, taught.fine_tune):
        run = store.info(run_id)
        seen = trained_drawings(store, run)
        result = score_run(store, run, Classifier.load(store.model_path(run_id)), scan.drawings)
        assert result.tested == 4  # the four kept out; neither the trained-on files nor the renamed copy
        assert {m[0] for m in result.missed} <= {ref.name for ref in store.load_drawings_record(run_id).held_out}
        assert not seen & {d.sha256 for d in untrained(scan.drawings, seen)}
    plain = store.info(taught.plain)
    assert trained_drawings(store, plain) == frozenset()  # MNIST only: every drawing is new to it
    assert score_run(store, plain, Classifier.load(store.model_path(taught.plain)), scan.drawings).tested == 20


def test_a_run_whose_record_is_lost_or_damaged_is_not_scored_at_all(taught, tmp_path):
    store = RunStore(tmp_path / "runs")
    shutil.copytree(taught.store.run_dir(taught.include), store.run_dir(taught.include))
    record = store.run_dir(taught.include) / "drawings.json"
    record.write_text(json.dumps({"folder": "/x", "trained_on": "everything"}))
    assert trained_drawings(store, store.info(taught.include)) is None
    record.unlink()
    assert trained_drawings(store, store.info(taught.include)) is None


def test_teaching_makes_the_model_read_the_new_style_on_drawings_it_never_saw(taught):
    store = taught.store
    kept_out = [ref.name for ref in store.load_drawings_record(taught.include).held_out if ref.label == 7]
    squares = np.stack([d.image for d in taught.drawings.scan().drawings if d.name in kept_out])

    def read_as_seven(run_id: str) -> int:
        return int((Classifier.load(store.model_path(run_id)).predict(squares).argmax(axis=1) == 7).sum())

    assert read_as_seven(taught.plain) == 0  # MNIST alone never calls a square a 7
    assert read_as_seven(taught.include) == len(kept_out) == 3
    assert read_as_seven(taught.fine_tune) == 3


def test_a_fine_tune_starts_from_its_parent_and_records_it(taught):
    store = taught.store
    record = store.load_drawings_record(taught.fine_tune)
    parent_metrics = store.load_metrics(taught.plain)
    assert record.parent == taught.plain and record.parent_test_accuracy == parent_metrics.test_accuracy
    config = store.load_config(taught.fine_tune)
    assert config == fine_tune_config(taught.config)
    assert store.load_metrics(taught.fine_tune).epochs_run == FINE_TUNE_EPOCHS
    # Its steps shrink epoch by epoch, from its parent's learning rate towards zero.
    rates = [epoch["learning_rate"] for epoch in store.load_history(taught.fine_tune)]
    assert rates[0] == pytest.approx(config.learning_rate) and rates[-1] < config.learning_rate / 10
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert not any("learning_rate" in epoch for epoch in store.load_history(taught.include))
    # With MNIST in the mix it keeps what its parent knew (this tiny parent is far from trained: it may gain).
    assert store.load_metrics(taught.fine_tune).test_accuracy > parent_metrics.test_accuracy - 0.05


@pytest.mark.parametrize(
    ("damage", "says"),
    [("missing", "saved model"), ("cut off", "model cannot be read"), ("replaced", "model cannot be read")],
)
def test_a_fine_tune_of_a_parent_whose_model_is_gone_or_damaged_is_refused_before_anything_trains(
    taught, tmp_path, damage, says
):
    store = RunStore(tmp_path / "runs")
    shutil.copytree(taught.store.root, store.root)
    model = store.model_path(taught.plain)
    if damage == "missing":
        model.unlink()
    elif damage == "cut off":
        model.write_bytes(model.read_bytes()[:5_000])
    else:
        model.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: not a model
    config = fine_tune_config(taught.config)
    run_id = store.create_run(config, drawings=DrawingsRecord(str(taught.drawings.folder), parent=taught.plain))
    with pytest.raises(TeachingError, match=says):
        plan_teaching(store, run_id, config, mnist_images=5_000)
    assert store.load_drawings_record(run_id).trained_on is None  # still "has trained on nothing"


def test_the_cli_fine_tunes_a_taught_run_inheriting_what_it_saw_and_reports_both_scores(taught, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(taught.store.root, runs)
    folder = tmp_path / "drawings"
    shutil.copytree(taught.drawings.folder, folder)
    result = run_cli("--fine-tune", taught.include, "--drawings", str(folder), "--runs-dir", str(runs))
    assert result.returncode == 0, result.stderr
    assert "skipped notes.txt: it is not a PNG or JPEG file" in result.stderr
    assert "of the 4 it did not train on, it read" in result.stdout
    assert "MNIST test accuracy" in result.stdout and f"against its parent {taught.include}" in result.stdout
    store = RunStore(runs)
    (new,) = {run.run_id for run in store.list_runs()} - {taught.plain, taught.include, taught.fine_tune}
    record, parents = store.load_drawings_record(new), store.load_drawings_record(taught.include)
    assert record.parent == taught.include and parents.trained_hashes() <= record.trained_hashes()
    assert record.held_out == parents.held_out  # nothing new to keep out: the same four


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--drawings", "{folder}"], "add --include-drawings to train on them"),
        (["--include-drawings", "--drawings", "{empty}"], "There are no drawings in"),
        (["--fine-tune", "20261201-101500-a1b2c3"], "does not exist"),
        (["--fine-tune", "../../etc"], "--fine-tune takes a run id"),
    ],
)
def test_the_cli_refuses_drawings_it_cannot_use_with_one_line_and_exit_2(taught, tmp_path, flags, says):
    empty = tmp_path / "empty"
    empty.mkdir()
    flags = [f.format(folder=taught.drawings.folder, empty=empty) for f in flags]
    result = run_cli(*flags, "--hidden", "16", "--epochs", "1", "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 2 and says in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
