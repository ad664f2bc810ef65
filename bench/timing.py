"""Epoch times, measured one way for every benchmark.

An epoch's time is the gap between the ends of two consecutive epochs, so the
first epoch (graph tracing, warm-up) is never counted. Each finished epoch's
record in the run store carries `seconds` since training began; plain
`model.fit` runs get the same from `EpochClock`.
"""

from __future__ import annotations

import statistics
import time


def epoch_durations(ends: list[float]) -> list[float]:
    """Seconds each epoch took after the first, from the times (any clock) at which epochs ended."""
    return [later - earlier for earlier, later in zip(ends, ends[1:])]


def durations_of_records(epoch_records: list[dict]) -> list[float]:
    """Epoch durations from the run store's epoch records (history.jsonl lines or a job's log)."""
    return epoch_durations([record["seconds"] for record in epoch_records])


def median_or_none(values: list[float]) -> float | None:
    """The median, or None for a run too short to time (one epoch or fewer)."""
    return statistics.median(values) if values else None


def epoch_clock():
    """A Keras callback that notes when each epoch ends (`.ends`, perf_counter seconds)."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends: list[float] = []

        def on_train_begin(self, logs=None):
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    return EpochClock()
