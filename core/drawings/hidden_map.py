"""Where a drawing lands: a 2-D map of what the network's last hidden layer makes of its input.

The last hidden layer turns a digit into a few hundred numbers, the features the output layer reads
the digit from. Principal component analysis finds the two directions along which those numbers
vary most over 2,000 test digits; each digit becomes a point on that plane. Digits the network
finds alike land close together, so a well-trained network's map shows a cluster per digit, and a
drawing's point shows which digits it resembles most to the network.

Plain numpy, computed once per model file (about 0.1 s): the two directions come from a few rounds
of subspace iteration on the centred activations, which stays fast for layers of 4,096 neurons
where a full decomposition would take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.drawings.inference import Classifier

MAP_DIGITS = 2_000
NEIGHBOURS = 20


def principal_axes(data: np.ndarray, count: int = 2, rounds: int = 15, seed: int = 0) -> np.ndarray:
    """The `count` directions of largest variance of centred `data` (rows are samples), as unit rows.

    Subspace iteration with a few extra directions (deterministic: a fixed seed). Each axis's sign is
    fixed so that its largest entry is positive, so the same data always gives the same map.
    """
    n_features = data.shape[1]
    width = min(n_features, count + 8)
    basis = np.random.default_rng(seed).standard_normal((n_features, width))
    for _ in range(rounds):
        basis, _ = np.linalg.qr(data.T @ (data @ basis))
    # Within the subspace found, an exact decomposition orders and refines the directions.
    projected = data @ basis
    _, _, rotation = np.linalg.svd(projected, full_matrices=False)
    axes = (basis @ rotation.T).T[:count]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    return axes * np.where(signs == 0, 1, signs)[:, None]


@dataclass(frozen=True)
class HiddenMap:
    """A model's last hidden layer, flattened onto its two principal axes.

    Attributes:
        mean: the average activation over the map's digits (units,).
        axes: the two principal directions (2, units).
        points: where each of the map's digits lands (n, 2).
        labels: each of those digits' true label (n,).
        explained: the share of the activations' variance along each axis (0 to 1).
    """

    mean: np.ndarray
    axes: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    explained: tuple[float, float]

    @classmethod
    def fit(cls, classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> HiddenMap:
        """The map of `classifier` over `images` (float 28x28 in [0, 1]) with their true `labels`."""
        hidden, _ = classifier.forward(images)
        activations = _finite(hidden[-1])  # a diverged model's NaNs would stop the decomposition
        mean = activations.mean(axis=0)
        centred = activations - mean
        axes = principal_axes(centred)
        points = centred @ axes.T
        total = float((centred**2).sum())
        explained = tuple(float((points[:, i] ** 2).sum()) / total if total > 0 else 0.0 for i in range(2))
        return cls(_read_only(mean), _read_only(axes), _read_only(points), _read_only(np.asarray(labels)), explained)

    def project(self, activations: np.ndarray) -> np.ndarray:
        """Where one drawing's last-layer activations (units,) land on the map: (x, y)."""
        return (_finite(activations).ravel() - self.mean) @ self.axes.T

    def neighbours(self, point: np.ndarray, count: int = NEIGHBOURS) -> list[tuple[int, int]]:
        """(digit, how many) among the `count` map digits nearest to `point`, most frequent first."""
        distances = ((self.points - np.asarray(point, dtype=np.float64)) ** 2).sum(axis=1)
        nearest = self.labels[np.argsort(distances, kind="stable")[:count]]
        digits, counts = np.unique(nearest, return_counts=True)
        order = np.lexsort((digits, -counts))
        return [(int(digits[i]), int(counts[i])) for i in order]


def _finite(values: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.flags.writeable = False
    return array
