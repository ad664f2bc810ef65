"""Held-out evaluation: the numbers a learner sees once training ends, as one typed record.

`evaluate` is the one place a model's test-set results are computed (the
training worker and the importer both call it), and `RunMetrics` the one shape
they are saved in. Reading metrics.json back goes through `RunMetrics.from_dict`,
which checks every field, because a run folder on disk may have been edited by
anyone.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields

import numpy as np

from core.data import NUM_CLASSES, TEST_IMAGES

MAX_MISCLASSIFIED = 60
PROBABILITY_FLOOR = 1e-7  # as Keras clips before the log in its cross-entropy


class MetricsError(ValueError):
    """metrics.json is not the record this app writes; the message names the field and what it must be."""


@dataclass(frozen=True)
class Mistake:
    """A test image the model got wrong: its index in the MNIST test set, the truth, the guess and its confidence."""

    index: int
    true: int
    predicted: int
    confidence: float


@dataclass(frozen=True)
class RunMetrics:
    """What a finished run measured: held-out test results and how training went.

    Accuracies are fractions in [0, 1]; `train_seconds` is wall-clock time of `fit`; epochs count from 1
    (`best_epoch` 0 and `epochs_run` 0 for an imported model, trained elsewhere). Losses may be NaN
    when a training diverged: that is a result, not damage.
    """

    test_loss: float
    test_accuracy: float
    test_images: int
    confusion_matrix: list[list[int]]  # [true digit][predicted digit] = images
    per_class_accuracy: list[float]
    misclassified: list[Mistake]  # the most confident mistakes first
    best_epoch: int
    epochs_run: int
    train_seconds: float
    train_images: int = 0
    parameters: int | None = None
    best_val_accuracy: float | None = None
    best_val_loss: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data, source: str = "metrics.json") -> RunMetrics:
        """The record in `source`; MetricsError naming the first field that is missing or wrong."""
        if not isinstance(data, dict):
            kind = {list: "a list", str: "text", type(None): "null"}.get(type(data), type(data).__name__)
            raise MetricsError(f"{source} holds {kind}, not the test results")
        known = {f.name: f for f in fields(cls)}
        for name, (check, expected) in _RULES.items():
            if name not in data:
                if known[name].default is not MISSING:  # optional: older files may lack it
                    continue
                raise MetricsError(f"{source} has no {name}")
            if not check(data[name]):
                shown = repr(data[name])
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                raise MetricsError(f"{source}: {name} must be {expected} (got {shown})")
        values = {name: data[name] for name in known if name in data}
        values["misclassified"] = [
            Mistake(**{k: m[k] for k in ("index", "true", "predicted", "confidence")}) for m in data["misclassified"]
        ]
        return cls(**values)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """matrix[t, p] = how many images of true digit t were predicted as p."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    return matrix


def evaluate(
    probabilities: np.ndarray,
    y_true: np.ndarray,
    *,
    best_epoch: int,
    epochs_run: int,
    train_seconds: float,
    train_images: int,
    parameters: int,
    best_val_accuracy: float | None = None,
    best_val_loss: float | None = None,
) -> RunMetrics:
    """Test loss and accuracy, confusion matrix, per-digit accuracy and the most confident mistakes.

    Args:
        probabilities: the model's softmax output on the test images, shape (images, 10).
        y_true: their digits. The rest describe the training, as RunMetrics documents.

    Misclassified digits are kept by test-set index, so a page shows their images from the
    bundled dataset without storing pixels per run.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true).astype(np.int64)
    picked = probabilities[np.arange(len(y_true)), y_true]
    loss = float(-np.log(np.clip(picked, PROBABILITY_FLOOR, 1.0)).mean())
    y_pred = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    matrix = confusion_matrix(y_true, y_pred)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    wrong = np.flatnonzero(y_pred != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:MAX_MISCLASSIFIED]
    return RunMetrics(
        test_loss=loss,
        test_accuracy=float((y_pred == y_true).mean()),
        test_images=int(len(y_true)),
        confusion_matrix=matrix.tolist(),
        per_class_accuracy=[float(a) for a in per_class],
        misclassified=[Mistake(int(i), int(y_true[i]), int(y_pred[i]), float(confidence[i])) for i in wrong],
        best_epoch=int(best_epoch),
        epochs_run=int(epochs_run),
        train_seconds=float(train_seconds),
        train_images=int(train_images),
        parameters=int(parameters),
        best_val_accuracy=None if best_val_accuracy is None else float(best_val_accuracy),
        best_val_loss=None if best_val_loss is None else float(best_val_loss),
    )


# --- what metrics.json may hold -----------------------------------------------------------------


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value) -> bool:
    return _real(value) and math.isfinite(value)


def _fraction(value) -> bool:
    return _finite(value) and 0 <= value <= 1


def _count(value) -> bool:
    return _int(value) and value >= 0


def _nan_or(check):
    return lambda value: _real(value) and (math.isnan(value) or check(value))


def _optional(check):
    return lambda value: value is None or check(value)


def _matrix(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) == NUM_CLASSES
        and all(isinstance(row, list) and len(row) == NUM_CLASSES and all(map(_count, row)) for row in value)
    )


def _per_class(value) -> bool:
    return isinstance(value, list) and len(value) == NUM_CLASSES and all(map(_fraction, value))


def _mistake(m) -> bool:
    return (
        isinstance(m, dict)
        and _int(m.get("index"))
        and 0 <= m["index"] < TEST_IMAGES
        and all(_int(m.get(k)) and 0 <= m[k] < NUM_CLASSES for k in ("true", "predicted"))
        and _nan_or(_fraction)(m.get("confidence"))
    )


_RULES = {
    "test_accuracy": (_fraction, "a fraction from 0 to 1"),
    "test_loss": (_nan_or(lambda v: v >= 0), "a number of at least 0"),
    "test_images": (lambda v: _int(v) and 1 <= v <= TEST_IMAGES, f"a whole number from 1 to {TEST_IMAGES:,}"),
    "confusion_matrix": (_matrix, f"{NUM_CLASSES} rows of {NUM_CLASSES} counts"),
    "per_class_accuracy": (_per_class, f"{NUM_CLASSES} fractions from 0 to 1"),
    "misclassified": (
        lambda v: isinstance(v, list) and all(map(_mistake, v)),
        "a list of test images (index, true and predicted digit, confidence)",
    ),
    "best_epoch": (_count, "a whole number of at least 0"),
    "epochs_run": (_count, "a whole number of at least 0"),
    "train_seconds": (lambda v: _finite(v) and v >= 0, "a number of seconds of at least 0"),
    "train_images": (_count, "a whole number of at least 0"),
    "parameters": (_optional(_count), "a whole number of at least 0"),
    "best_val_accuracy": (_optional(_nan_or(_fraction)), "a fraction from 0 to 1"),
    "best_val_loss": (_optional(_real), "a number"),
}
