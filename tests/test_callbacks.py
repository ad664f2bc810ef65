"""The streaming callback: hooks called directly, then one real small fit."""

import threading

import numpy as np

from core.config import TrainConfig
from core.training.callbacks import BestModelCheckpoint, StreamingCallback
from core.training.data import load_mnist, split_mnist
from core.training.model import build_model


class ListSink:
    def __init__(self):
        self.started, self.batches, self.epochs = None, [], []

    def begin(self, epochs, steps_per_epoch):
        self.started = (epochs, steps_per_epoch)

    def batch(self, record):
        self.batches.append(record)

    def epoch(self, record):
        self.epochs.append(record)


class StandIn:
    stop_training = False


def test_hooks_record_fractional_epochs_and_honour_stop():
    sink, stop = ListSink(), threading.Event()
    callback = StreamingCallback(sink, should_stop=stop.is_set)
    callback.set_model(StandIn())
    callback.set_params({"epochs": 3, "steps": 4})
    callback.on_train_begin()
    callback.on_epoch_begin(1)
    callback.on_train_batch_end(1, {"loss": 0.5, "accuracy": 0.8})
    assert sink.started == (3, 4)
    assert sink.batches == [{"epoch": 1.5, "step": 2, "loss": 0.5, "accuracy": 0.8}]
    assert not callback.model.stop_training
    stop.set()
    callback.on_train_batch_end(2, {"loss": 0.4, "accuracy": 0.9})
    assert callback.model.stop_training


def test_checkpoint_saves_only_on_improvement():
    saved = []
    checkpoint = BestModelCheckpoint(lambda model: saved.append(model), monitor="val_accuracy")
    checkpoint.set_model(StandIn())
    checkpoint.on_train_begin()
    for epoch, accuracy in enumerate([0.90, 0.95, 0.93, 0.96]):
        checkpoint.on_epoch_end(epoch, {"val_accuracy": accuracy})
    assert len(saved) == 3
    checkpoint.on_train_begin()  # reusable: a new fit starts from no best
    checkpoint.on_epoch_end(0, {"val_accuracy": 0.5})
    assert len(saved) == 4


def test_streamed_metrics_match_keras_history():
    splits = split_mnist(load_mnist(), train_limit=600)
    model = build_model(TrainConfig(hidden_layers=(16,), seed=0))
    sink = ListSink()
    history = model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=100,
        epochs=2,
        validation_data=(splits.x_val[:500], splits.y_val[:500]),
        callbacks=[StreamingCallback(sink)],
        verbose=0,
    )
    assert sink.started == (2, 6)
    assert [b["epoch"] for b in sink.batches] == [e + s / 6 for e in range(2) for s in range(1, 7)]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose([e[key] for e in sink.epochs], history.history[key], rtol=1e-6)
    # Keras batch logs are running means within the epoch: the last one is the epoch's training value
    last_of_each_epoch = [sink.batches[5], sink.batches[11]]
    np.testing.assert_allclose([b["loss"] for b in last_of_each_epoch], history.history["loss"], rtol=1e-5)


def test_several_steps_per_call_put_each_record_where_its_steps_end():
    """6 steps an epoch, 4 per call: Keras reports the second call as ending at step 8; it ended at 6."""
    splits = split_mnist(load_mnist(), train_limit=600)
    model = build_model(TrainConfig(hidden_layers=(16,), seed=0), steps_per_execution=4)
    sink = ListSink()
    history = model.fit(
        splits.x_train, splits.y_train, batch_size=100, epochs=2, callbacks=[StreamingCallback(sink)], verbose=0
    )
    assert [(b["epoch"], b["step"]) for b in sink.batches] == [(4 / 6, 4), (1.0, 6), (1 + 4 / 6, 4), (2.0, 6)]
    np.testing.assert_allclose([sink.batches[1]["loss"], sink.batches[3]["loss"]], history.history["loss"], rtol=1e-5)
