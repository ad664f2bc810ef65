"""Held-out evaluation: the numbers a learner sees once training ends."""

from __future__ import annotations

import numpy as np

from core.data import NUM_CLASSES

MAX_MISCLASSIFIED = 60


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """matrix[t, p] = how many images of true digit t were predicted as p."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    return matrix


def test_report(probabilities: np.ndarray, y_true: np.ndarray, loss: float) -> dict:
    """Test loss/accuracy, confusion matrix, per-class accuracy and the most confident mistakes.

    Misclassified digits are listed by test-set index so the images can be
    shown later from the bundled dataset without storing pixels per run.
    """
    y_pred = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    matrix = confusion_matrix(y_true, y_pred)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    wrong = np.flatnonzero(y_pred != y_true)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")][:MAX_MISCLASSIFIED]
    return {
        "test_loss": float(loss),
        "test_accuracy": float((y_pred == y_true).mean()),
        "test_images": int(len(y_true)),
        "confusion_matrix": matrix.tolist(),
        "per_class_accuracy": [float(a) for a in per_class],
        "misclassified": [
            {"index": int(i), "true": int(y_true[i]), "predicted": int(y_pred[i]), "confidence": float(confidence[i])}
            for i in wrong
        ],
    }
