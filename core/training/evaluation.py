"""Held-out evaluation: the one place a model's test-set results are computed.

The training worker and the importer both call `evaluate`; what it returns is the record of
core.runs.results, the shape metrics.json holds.
"""

from __future__ import annotations

import numpy as np

from core.config import NUM_CLASSES
from core.runs.results import Mistake, RunMetrics

MAX_MISCLASSIFIED = 60
PROBABILITY_FLOOR = 1e-7  # as Keras clips before the log in its cross-entropy


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
