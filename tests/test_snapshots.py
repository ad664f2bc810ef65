"""Snapshots of the network per epoch: the callback's hooks on a tiny model, one real fit, and a reader
that leaves out every file the worker did not write, without raising."""

import io
import os
import zipfile

import keras
import numpy as np
import pytest

from core.config import TrainConfig
from core.engine.jobs import JobManager
from core.runs import snapshots
from core.runs.snapshots import (
    FIRST_LAYER_NEURONS,
    HISTOGRAM_BINS,
    GuessDigits,
    choose_guess_digits,
    common_histograms,
    decode_snapshot,
    encode_digits,
    encode_snapshot,
    make_snapshot,
    read_series,
)
from core.training.callbacks import SnapshotCallback
from core.training.data import load_mnist, split_mnist
from core.training.model import build_model

IMAGES = np.random.default_rng(0).random((20, 28, 28), dtype=np.float32)


def tiny_snapshot(epoch: int = 0, neurons: int = 8, seed: int = 0) -> snapshots.Snapshot:
    rng = np.random.default_rng(seed)
    kernels = [rng.normal(size=(784, neurons)), rng.normal(size=(neurons, 10))]
    probabilities = rng.dirichlet(np.ones(10), size=20)
    return make_snapshot(epoch, kernels, probabilities)


def test_hooks_keep_the_start_and_each_epoch_of_a_tiny_model():
    model = build_model(TrainConfig(hidden_layers=(8, 4)))
    kept = []
    callback = SnapshotCallback(kept.append, IMAGES)
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0)
    callback.on_epoch_end(1)
    assert [s.epoch for s in kept] == [0, 1, 2]
    first = kept[0]
    kernel = keras.ops.convert_to_numpy(model.get_layer("hidden_1").kernel)
    assert first.first_layer.shape == (8, 28, 28)  # a layer smaller than FIRST_LAYER_NEURONS: all of it
    np.testing.assert_allclose(first.first_layer[3].ravel(), kernel[:, 3], atol=1e-3)  # neuron 3's weights, as an image
    assert first.probabilities.shape == (20, 10)
    np.testing.assert_allclose(first.probabilities.astype(np.float32).sum(axis=1), 1, atol=1e-2)
    assert first.histogram_counts.shape == (3, HISTOGRAM_BINS)  # two hidden layers and the output
    assert first.histogram_counts.sum(axis=1).tolist() == [784 * 8, 8 * 4, 4 * 10]


def test_a_real_fit_keeps_a_snapshot_per_epoch_and_the_network_changes():
    splits = split_mnist(load_mnist(), train_limit=1_000)
    model = build_model(TrainConfig(hidden_layers=(32,)))
    chosen = choose_guess_digits(len(splits.y_val))
    kept = []
    model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=100,
        epochs=2,
        callbacks=[SnapshotCallback(kept.append, splits.x_val[chosen])],
        verbose=0,
    )
    assert [s.epoch for s in kept] == [0, 1, 2]
    assert kept[0].first_layer.shape == (FIRST_LAYER_NEURONS, 28, 28)
    assert not np.array_equal(kept[0].first_layer, kept[2].first_layer)
    right = [int((s.guesses == splits.y_val[chosen]).sum()) for s in kept]
    assert right[2] > right[0], right  # it learned something about the fixed digits


@pytest.mark.parametrize("validation_size", [1_000, 5_000, 20_000])
def test_guess_digits_are_two_of_each_digit_from_any_validation_set(validation_size):
    splits = split_mnist(load_mnist(), validation_size=validation_size, train_limit=100)
    chosen = choose_guess_digits(validation_size)
    assert ((chosen >= 0) & (chosen < validation_size)).all()
    assert splits.y_val[chosen].tolist() == [d for d in range(10) for _ in range(2)]
    # The same digits whatever the size: the last training images, counted from the end.
    np.testing.assert_array_equal(
        splits.x_val[chosen], split_mnist(load_mnist(), train_limit=100).x_val[choose_guess_digits(5_000)]
    )


@pytest.mark.slow
def test_the_default_network_still_gets_some_guesses_wrong_after_its_first_epoch(store):
    job = JobManager(store).submit(TrainConfig(epochs=1))  # the defaults, on the full data, as a learner starts
    assert job.wait(600) and job.status == "completed", job.error
    series = read_series(store.snapshots_folder(job.run_id))
    after_one = series.snapshots[-1]
    assert after_one.epoch == 1
    right = int((after_one.guesses == series.digits.labels).sum())
    assert 10 <= right < 20, right  # learned most of them, but the panel still has something to show


def test_a_snapshot_and_its_digits_read_back_as_written(tmp_path):
    snapshot = tiny_snapshot(epoch=3)
    back = decode_snapshot(encode_snapshot(snapshot), 3)
    for name in ("first_layer", "probabilities", "histogram_counts", "histogram_limits"):
        np.testing.assert_array_equal(getattr(back, name), getattr(snapshot, name))
    folder = tmp_path / "snapshots"
    folder.mkdir()
    (folder / "epoch-003.npz").write_bytes(encode_snapshot(snapshot))
    digits = GuessDigits(np.zeros((20, 28, 28), np.uint8), np.repeat(np.arange(10, dtype=np.uint8), 2))
    (folder / "digits.npz").write_bytes(encode_digits(digits))
    series = read_series(folder)
    assert series.epochs == [3] and series.guesses_readable(series.snapshots[0])
    assert not series.snapshots[0].first_layer.flags.writeable  # shared by every session: read-only


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def good_arrays() -> dict:
    snapshot = tiny_snapshot()
    return {
        "first_layer": snapshot.first_layer,
        "probabilities": snapshot.probabilities,
        "histogram_counts": snapshot.histogram_counts,
        "histogram_limits": snapshot.histogram_limits,
    }


def huge_header() -> bytes:
    """A zip whose member declares a 10^12-item array in a few bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in good_arrays().items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array)
            data = member.getvalue()
            if name == "first_layer":
                header = {"descr": "<f2", "fortran_order": False, "shape": (10**6, 28, 28)}
                member = io.BytesIO()
                np.lib.format.write_array_header_1_0(member, header)
                data = member.getvalue() + data[-100:]
            archive.writestr(f"{name}.npy", data)
    return buffer.getvalue()


BAD_FILES = {
    "empty": b"",
    "not a zip": b"PK\x03\x04 certainly not a zip file",
    "text": b'{"first_layer": [1, 2, 3]}',
    "cut off": encode_snapshot(tiny_snapshot())[:5_000],
    "a member missing": npz(**{k: v for k, v in good_arrays().items() if k != "probabilities"}),
    "a member too many": npz(**good_arrays(), extra=np.zeros(3)),
    "float64 weights": npz(**{**good_arrays(), "first_layer": good_arrays()["first_layer"].astype(np.float64)}),
    "pickled objects": npz(**{**good_arrays(), "histogram_limits": np.array([{"a": 1}, None], dtype=object)}),
    "flat weights": npz(**{**good_arrays(), "first_layer": np.zeros((8, 784), np.float16)}),
    "too many neurons": npz(**{**good_arrays(), "first_layer": np.zeros((40, 28, 28), np.float16)}),
    "probabilities above 1": npz(**{**good_arrays(), "probabilities": np.full((20, 10), 3, np.float16)}),
    "negative counts": npz(**{**good_arrays(), "histogram_counts": -good_arrays()["histogram_counts"]}),
    "a limit of zero": npz(**{**good_arrays(), "histogram_limits": np.zeros(2)}),
    "one layer": npz(**{**good_arrays(), "histogram_counts": good_arrays()["histogram_counts"][:1]}),
    "a huge declared array": huge_header(),
    "larger than a snapshot can be": npz(**good_arrays()) + b"\0" * snapshots.MAX_FILE_BYTES,
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_epoch_file_is_left_out_and_the_rest_still_read(tmp_path, name):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    (folder / "epoch-000.npz").write_bytes(encode_snapshot(tiny_snapshot(0)))
    (folder / "epoch-001.npz").write_bytes(BAD_FILES[name])
    (folder / "epoch-002.npz").write_bytes(encode_snapshot(tiny_snapshot(2)))
    assert read_series(folder).epochs == [0, 2]


def test_odd_things_in_the_folder_never_stop_the_reader(tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    (folder / "epoch-000.npz").write_bytes(encode_snapshot(tiny_snapshot(0)))
    (folder / "epoch-001.npz").mkdir()  # a folder where a file belongs
    os.mkfifo(folder / "epoch-002.npz")  # a pipe: opening it to read must not hang
    (folder / "epoch-003.npz").symlink_to("/dev/zero")  # endless
    (folder / "epoch-999.npz").write_bytes(encode_snapshot(tiny_snapshot(999)))  # past the most epochs
    (folder / "epoch-4.npz").write_bytes(encode_snapshot(tiny_snapshot(4)))  # not a name the worker writes
    (folder / "epoch-005.npz").write_bytes(encode_snapshot(tiny_snapshot(5, neurons=16)))  # another network's
    (folder / "digits.npz").write_bytes(npz(images=np.zeros((20, 28, 28), np.uint8), labels=np.full(20, 12, np.uint8)))
    series = read_series(folder)
    assert series.epochs == [5] and series.digits is None  # the latest network's; labels of 12 are no digits
    assert not series.guesses_readable(series.snapshots[0])
    assert read_series(tmp_path / "nothing here").snapshots == []


def test_only_snapshots_this_runs_network_could_make_are_shown():
    series = snapshots.SnapshotSeries([tiny_snapshot(0, neurons=8), tiny_snapshot(1, neurons=8)], None)
    assert series.of_network((8,)).epochs == [0, 1]
    assert series.of_network((16,)).epochs == []  # a first layer of 16 neurons keeps 16 of them, not 8
    assert series.of_network((8, 8)).epochs == []  # three layers' histograms, not two


def test_histograms_move_onto_one_grid_and_keep_their_shares():
    narrow = make_snapshot(0, [np.full((784, 4), 0.01), np.linspace(-0.01, 0.01, 40).reshape(4, 10)], np.eye(10)[:2])
    wide = make_snapshot(1, [np.full((784, 4), 0.5), np.linspace(-1, 1, 40).reshape(4, 10)], np.eye(10)[:2])
    layers = common_histograms(snapshots.SnapshotSeries([narrow, wide], None))
    edges, shares = layers[0]
    assert edges[0] == -0.5 and edges[-1] == 0.5  # the widest epoch's range
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert shares[1].argmax() == len(shares[1]) - 1  # every weight 0.5: the top bin
    assert abs(edges[shares[0].argmax()]) < 0.05  # every weight 0.01: next to zero


def test_the_store_keeps_snapshots_and_clears_what_a_killed_worker_left(store, tiny_config):
    run_id = store.create_run(tiny_config)
    store.save_snapshot(run_id, tiny_snapshot(0))
    store.save_snapshot(run_id, tiny_snapshot(1))
    leftover = store.snapshots_folder(run_id) / ".epoch-002.npz.0badc0de.tmp"  # a write cut short
    leftover.write_bytes(b"half a snapshot")
    store.update_status(run_id, status="failed", pid=None)  # its worker is gone
    assert store.remove_leftovers() == [leftover]
    assert store.load_snapshots(run_id).epochs == [0, 1]
