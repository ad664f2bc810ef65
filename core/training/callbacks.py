"""Keras callbacks of the training engine: stream progress, checkpoint the best model, look inside.

It imports Keras, so only the training worker imports this module: pages that
merely show progress never pay for TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import keras

from core.runs.snapshots import FIRST_LAYER_NEURONS, Snapshot, make_snapshot


class ProgressSink(Protocol):
    """Where StreamingCallback sends what it sees (a MetricsLog, or a test's list)."""

    def begin(self, epochs: int, steps_per_epoch: int) -> None: ...

    def batch(self, record: dict) -> None: ...

    def epoch(self, record: dict) -> None: ...


class StreamingCallback(keras.callbacks.Callback):
    """Send every batch's and every epoch's metrics to `sink` while `fit` runs.

    Batch records are what Keras reports: running means since the start of the
    epoch, tagged with the fractional epoch (`epoch + steps done / steps`) so
    they line up with the epoch markers on one axis.

    Args:
        sink: receives `begin(epochs, steps_per_epoch)`, `batch(record)` and `epoch(record)`.
        should_stop: polled after each batch; when it returns True training ends
            after this batch (Keras still finishes the epoch's validation pass).

    Example:
        model.fit(x, y, callbacks=[StreamingCallback(MetricsLog())])
    """

    def __init__(self, sink: ProgressSink, should_stop: Callable[[], bool] | None = None):
        super().__init__()
        self.sink = sink
        self.should_stop = should_stop
        self._epoch = 0
        self._steps = 1

    def on_train_begin(self, logs=None):
        self._epoch = 0
        self._steps = int(self.params.get("steps") or 1)
        self.sink.begin(int(self.params.get("epochs") or 1), self._steps)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        # With several steps per execution, Keras names the last call of an epoch as if it ran them all
        # (step 115 of 94): it ran to the epoch's end, so that is where its record goes.
        step = min(batch + 1, self._steps)
        self.sink.batch(
            {
                "epoch": self._epoch + step / self._steps,
                "step": step,
                "loss": float(logs.get("loss", float("nan"))),
                "accuracy": float(logs.get("accuracy", float("nan"))),
            }
        )
        if self.should_stop is not None and self.should_stop():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.sink.epoch({"epoch": epoch + 1, **{key: float(value) for key, value in logs.items()}})


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model through `save` whenever `monitor` reaches a new best.

    The training engine passes `RunStore.save_model`, which writes atomically,
    so a process killed mid-training still leaves its best model so far.

    Args:
        save: called with the model to persist it.
        monitor: the epoch log to watch, "val_loss" (lower is better) by default.
    """

    def __init__(self, save: Callable, monitor: str = "val_loss"):
        super().__init__()
        self.save = save
        self.monitor = monitor
        self.best = None

    def on_train_begin(self, logs=None):
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        lower_is_better = self.monitor.endswith("loss")
        if self.best is None or (current < self.best if lower_is_better else current > self.best):
            self.best = current
            self.save(self.model)


class SnapshotCallback(keras.callbacks.Callback):
    """Keep a look inside the network before training and after every epoch (core.runs.snapshots).

    Each snapshot holds the first hidden layer's incoming weights for its first neurons, the model's
    probabilities for a fixed handful of validation digits, and a histogram of every Dense layer's
    weights: a small file and little work per epoch.

    Args:
        save: called with each `Snapshot` (epoch 0 before the first epoch, then 1, 2, ...).
        images: the fixed digits to guess, float32 (k, 28, 28) in [0, 1]; never test digits.
        neurons: how many first-layer neurons to keep, 24 by default.

    Example:
        model.fit(x, y, epochs=5, callbacks=[SnapshotCallback(snapshots.append, x_val[:20])])
    """

    def __init__(self, save: Callable, images, neurons: int = FIRST_LAYER_NEURONS):
        super().__init__()
        self.save = save
        self.images = images
        self.neurons = neurons

    def on_train_begin(self, logs=None):
        self.save(self.snapshot(0))

    def on_epoch_end(self, epoch, logs=None):
        self.save(self.snapshot(epoch + 1))

    def snapshot(self, epoch: int) -> Snapshot:
        dense = [layer for layer in self.model.layers if isinstance(layer, keras.layers.Dense)]
        kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in dense]
        probabilities = self.model(self.images, training=False)
        return make_snapshot(epoch, kernels, keras.ops.convert_to_numpy(probabilities), self.neurons)
