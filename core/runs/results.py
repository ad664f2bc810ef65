"""The held-out results' record: what a finished run measured, in the one shape metrics.json holds.

`RunMetrics.from_dict` checks every field, because a run folder on disk may have been edited by anyone;
core.training.evaluation computes the record.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields

from core.config import NUM_CLASSES, TEST_IMAGES, is_finite, is_int, is_real, nan_or, optional


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


# --- what metrics.json may hold -----------------------------------------------------------------


def _fraction(value) -> bool:
    return is_finite(value) and 0 <= value <= 1


def _count(value) -> bool:
    return is_int(value) and value >= 0


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
        and is_int(m.get("index"))
        and 0 <= m["index"] < TEST_IMAGES
        and all(is_int(m.get(k)) and 0 <= m[k] < NUM_CLASSES for k in ("true", "predicted"))
        and nan_or(_fraction)(m.get("confidence"))
    )


_RULES = {
    "test_accuracy": (_fraction, "a fraction from 0 to 1"),
    "test_loss": (nan_or(lambda v: v >= 0), "a number of at least 0"),
    "test_images": (lambda v: is_int(v) and 1 <= v <= TEST_IMAGES, f"a whole number from 1 to {TEST_IMAGES:,}"),
    "confusion_matrix": (_matrix, f"{NUM_CLASSES} rows of {NUM_CLASSES} counts"),
    "per_class_accuracy": (_per_class, f"{NUM_CLASSES} fractions from 0 to 1"),
    "misclassified": (
        lambda v: isinstance(v, list) and all(map(_mistake, v)),
        "a list of test images (index, true and predicted digit, confidence)",
    ),
    "best_epoch": (_count, "a whole number of at least 0"),
    "epochs_run": (_count, "a whole number of at least 0"),
    "train_seconds": (lambda v: is_finite(v) and v >= 0, "a number of seconds of at least 0"),
    "train_images": (_count, "a whole number of at least 0"),
    "parameters": (optional(_count), "a whole number of at least 0"),
    "best_val_accuracy": (optional(nan_or(_fraction)), "a fraction from 0 to 1"),
    "best_val_loss": (optional(is_real), "a number"),
}
