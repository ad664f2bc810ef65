"""Which of your drawings a run trained on: the record in its folder's drawings.json.

    {"folder": "/home/me/drawings",          where the run read them
     "parent": "20261201-101500-a1b2c3",     fine-tuned from this run's weights (null: trained from scratch)
     "parent_test_accuracy": 0.9831,         the parent's MNIST test accuracy, so the change stays known
     "copies": 61,                           each trained-on drawing's repeats per epoch
     "trained_on": [{"name": "7_a81c.png", "label": 7, "sha256": "..."}, ...],
     "held_out":   [...]}

The run store writes the first two when the run is made; the training worker adds the rest before
the first step of training, so every model file a run ever saves has its record. `trained_on`
includes what the parent trained on. Drawings are identified by the SHA-256 of the file's bytes, so
a renamed copy of a trained-on drawing is still known as trained on.

Plain data, no dependencies: the store reads it, and core.training.teaching makes and uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from core.config import is_finite, is_int, is_run_id, is_sha256

MAX_NAME = 255  # a file name's length on common file systems


class RecordError(ValueError):
    """drawings.json is not the record this app writes; the message names the field."""


@dataclass(frozen=True)
class DrawingRef:
    """One drawing as a record names it: file name, digit, SHA-256 of its bytes."""

    name: str
    label: int
    sha256: str

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "sha256": self.sha256}


@dataclass(frozen=True)
class DrawingsRecord:
    """Where a run's drawings came from, its parent, and which drawings it trained on and kept out.

    `trained_on` is None until training starts (a queued run has trained on nothing yet).
    """

    folder: str
    parent: str | None = None
    parent_test_accuracy: float | None = None
    copies: int = 0
    trained_on: tuple[DrawingRef, ...] | None = None
    held_out: tuple[DrawingRef, ...] = field(default=())

    def trained_hashes(self) -> frozenset[str]:
        return frozenset(ref.sha256 for ref in self.trained_on or ())

    def with_training(self, **changes) -> DrawingsRecord:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "parent": self.parent,
            "parent_test_accuracy": self.parent_test_accuracy,
            "copies": self.copies,
            "trained_on": None if self.trained_on is None else [ref.to_dict() for ref in self.trained_on],
            "held_out": [ref.to_dict() for ref in self.held_out],
        }

    @classmethod
    def from_dict(cls, data) -> DrawingsRecord:
        """The record in drawings.json; RecordError naming the first field that is missing or wrong."""
        if not isinstance(data, dict):
            raise RecordError("drawings.json does not hold a record of drawings")
        folder = data.get("folder")
        if not isinstance(folder, str) or not folder:
            raise RecordError("drawings.json: folder must be a folder's path")
        parent = data.get("parent")
        if parent is not None and not (is_run_id(parent)):
            raise RecordError("drawings.json: parent must be a run id")
        accuracy = data.get("parent_test_accuracy")
        if accuracy is not None and not (is_finite(accuracy) and 0 <= accuracy <= 1):
            raise RecordError("drawings.json: parent_test_accuracy must be a fraction from 0 to 1")
        copies = data.get("copies", 0)
        if not (is_int(copies) and copies >= 0):
            raise RecordError("drawings.json: copies must be a whole number of at least 0")
        trained = data.get("trained_on")
        return cls(
            folder=folder,
            parent=parent,
            parent_test_accuracy=None if accuracy is None else float(accuracy),
            copies=copies,
            trained_on=None if trained is None else _refs(trained, "trained_on"),
            held_out=_refs(data.get("held_out", []), "held_out"),
        )


def _refs(items, where: str) -> tuple[DrawingRef, ...]:
    if not isinstance(items, list):
        raise RecordError(f"drawings.json: {where} must be a list of drawings")
    refs = []
    for item in items:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and 0 < len(item["name"]) <= MAX_NAME
            and isinstance(item.get("label"), int)
            and not isinstance(item["label"], bool)
            and 0 <= item["label"] <= 9
            and isinstance(item.get("sha256"), str)
            and is_sha256(item["sha256"])
        ):
            raise RecordError(f"drawings.json: {where} must list drawings by name, digit and SHA-256")
        refs.append(DrawingRef(item["name"], item["label"], item["sha256"]))
    return tuple(refs)
