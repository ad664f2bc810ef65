"""The words for where a run is and why it ended: one vocabulary for the store, the engine and the pages.

A run's status is saved in its status.json; its stop reason says why a finished
training ended. Each comes with what a learner reads about it (a word, an icon
and a colour for a badge; a sentence for a reason), so a page never types a
status by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- statuses ---------------------------------------------------------------------------------
QUEUED = "queued"  # waiting for a free training slot
RUNNING = "running"  # a worker process trains it now
COMPLETED = "completed"  # trained to its end, or imported; held-out results saved
STOPPED = "stopped"  # stopped by the person; the best model so far and its results are saved
FAILED = "failed"  # training raised an error (see the run's error)
INTERRUPTED = "interrupted"  # saved as queued or running, but its process is gone (the server stopped)
CANCELLED = "cancelled"  # taken off the queue before it started
DAMAGED = "damaged"  # never saved: what the store reports for a run whose files it cannot trust

ACTIVE_STATUSES = (QUEUED, RUNNING)
FINISHED_WITH_RESULTS = (COMPLETED, STOPPED)
SAVED_STATUSES = (QUEUED, RUNNING, COMPLETED, STOPPED, FAILED, INTERRUPTED, CANCELLED)

# --- stop reasons -----------------------------------------------------------------------------
MAX_EPOCHS = "max_epochs"
EARLY_STOPPING = "early_stopping"
STOPPED_BY_USER = "stopped_by_user"
IMPORTED = "imported"


@dataclass(frozen=True)
class StatusBadge:
    """How a status shows on a page: a word, a Material icon name and a badge colour."""

    word: str
    icon: str
    colour: str


STATUS_BADGES = {
    QUEUED: StatusBadge("queued", "hourglass_empty", "gray"),
    RUNNING: StatusBadge("training", "play_arrow", "blue"),
    COMPLETED: StatusBadge("completed", "check", "green"),
    STOPPED: StatusBadge("stopped", "stop", "orange"),
    FAILED: StatusBadge("failed", "error", "red"),
    INTERRUPTED: StatusBadge("interrupted", "power_off", "red"),
    CANCELLED: StatusBadge("cancelled", "close", "gray"),
    DAMAGED: StatusBadge("damaged", "broken_image", "red"),
}

STOP_REASONS = {
    MAX_EPOCHS: "It ran all its epochs",
    EARLY_STOPPING: "It stopped early, because validation accuracy stopped improving",
    STOPPED_BY_USER: "You stopped it",
    IMPORTED: "It was imported from a file, trained elsewhere",
}


def stop_reason_text(reason: str | None) -> str:
    """The sentence for a stop reason ("" for none, or one this version does not know)."""
    return STOP_REASONS.get(reason or "", "")
