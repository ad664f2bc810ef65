"""Where a training is: its live metrics, its progress, and the words a person reads about it.

The training thread appends each batch and epoch to a MetricsLog; any number
of readers (the Train page's live feed, the sidebar, the command line) poll it
without slowing training. `Progress` is what a progress bar needs, and
`progress_line` the one sentence every page and the command line show for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core.runs.states import FINISHED_WITH_RESULTS, QUEUED


def format_duration(seconds: float | None) -> str:
    """12.3 -> "0:12"; 3725 -> "1:02:05"; None -> "--:--"."""
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Progress:
    """Where a job is, for a progress bar. Times are seconds."""

    status: str
    epochs_done: int
    epochs: int
    step: int
    steps: int
    elapsed: float
    eta: float | None

    @property
    def fraction(self) -> float:
        if self.status in FINISHED_WITH_RESULTS:
            return 1.0
        total = self.epochs * max(self.steps, 1)
        return min(1.0, (self.epochs_done * self.steps + self.step) / total) if total else 0.0


class MetricsLog:
    """Thread-safe, append-only record of one training: batch and epoch metrics.

    The training thread appends; readers call `snapshot()` at any rate. Appends
    and copies take a lock for microseconds, so readers never slow training.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[dict] = []
        self._epochs: list[dict] = []
        self._epoch_start = 0
        self.epochs = 0
        self.steps = 0

    def begin(self, epochs: int, steps_per_epoch: int) -> None:
        with self._lock:
            self.epochs, self.steps = epochs, steps_per_epoch

    def batch(self, record: dict) -> None:
        with self._lock:
            self._batches.append(record)

    def epoch(self, record: dict) -> None:
        with self._lock:
            self._epochs.append(record)
            self._epoch_start = len(self._batches)

    def records(self, batch_start: int = 0) -> tuple[list[dict], list[dict]]:
        """Copies of the batch records from `batch_start` on, and of all epoch records."""
        with self._lock:
            return self._batches[batch_start:], list(self._epochs)

    def position(self) -> tuple[int, int]:
        """(epochs finished, steps into the current epoch)."""
        with self._lock:
            step = self._batches[-1]["step"] if len(self._batches) > self._epoch_start else 0
            return len(self._epochs), step


def progress_bar(progress: Progress | None) -> dict | None:
    """A progress bar as the live run draws it (pages/components/live_run): how full, its line, and what screen
    readers are told (it changes once an epoch, not with every batch); None for none."""
    if progress is None:
        return None
    return {"fraction": progress.fraction, "text": progress_line(progress), "announce": progress_news(progress)}


def progress_news(progress: Progress) -> str:
    """ "Training epoch 3 of 20": the part of the progress worth saying aloud."""
    if progress.status == QUEUED:
        return "Queued: it waits for its turn to train"
    return f"Training epoch {min(progress.epochs_done + 1, progress.epochs)} of {progress.epochs}"


def progress_line(progress: Progress) -> str:
    """ "Epoch 3 of 20 · step 215 of 430 · elapsed 0:09 · about 0:51 left", or that it waits."""
    if progress.status == QUEUED:
        return "Waiting to start"
    epoch = min(progress.epochs_done + 1, progress.epochs)
    return (
        f"Epoch {epoch} of {progress.epochs} · step {progress.step} of {progress.steps or '…'} · "
        f"elapsed {format_duration(progress.elapsed)} · about {format_duration(progress.eta)} left"
    )
