"""The test digits behind each number of a run's results: a confusion matrix cell, a digit's accuracy bar, the
most confident mistakes, each digit shown beside its evidence (core.drawings.evidence).

A run's record keeps the counts, not which test digit went where, so the model reads the test set again
here, in numpy (a fraction of a second for the default network), once per model file:

    readings = TestReadings.of(classifier, images, labels)   # uint8 test digits
    chosen = readings.choose(true=4, read_as=9)          # 4s read as 9s, most confident first
    tiles = evidence_tiles(classifier, images[chosen.indices], chosen)   # pictures, one per digit
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import NUM_CLASSES
from core.drawings.evidence import explain, runner_up
from core.drawings.inference import Classifier
from core.training.data import to_float
from core.views import pictures


@dataclass(frozen=True)
class Chosen:
    """Test digits picked from a model's readings: their indices in the test set (in the order to show), each
    one's true digit, what the model read and how sure it was, and how many there are in all."""

    indices: np.ndarray
    true: np.ndarray
    read_as: np.ndarray
    confidence: np.ndarray
    total: int
    title: str
    order: str


@dataclass(frozen=True)
class TestReadings:
    """What a model read for every test digit (never changed once made: shared by every session)."""

    labels: np.ndarray
    read_as: np.ndarray
    confidence: np.ndarray

    @classmethod
    def of(cls, classifier: Classifier, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> TestReadings:
        """The readings of `images` (uint8 MNIST pixels), a batch at a time: the server's memory holds one small
        batch of floats, never the whole test set's."""
        probabilities = np.concatenate(
            [classifier.predict(to_float(images[i : i + batch])) for i in range(0, len(images), batch)]
        )
        arrays = (np.asarray(labels).astype(np.int64), probabilities.argmax(axis=1), probabilities.max(axis=1))
        for array in arrays:
            array.flags.writeable = False
        return cls(*arrays)

    def confusion(self) -> np.ndarray:
        """[true digit][digit read] = how many test digits (the run's own matrix, read again)."""
        matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.read_as), 1)
        return matrix

    def choose(self, true: int | None = None, read_as: int | None = None, most: int = 24) -> Chosen:
        """The test digits of one cell (`true` read as `read_as`), of one row or column, or every mistake (both
        None): mistakes most confident first; digits read right least confident first (the near misses)."""
        picked = np.ones(len(self.labels), dtype=bool)
        if true is not None:
            picked &= self.labels == true
        if read_as is not None:
            picked &= self.read_as == read_as
        right = true is not None and true == read_as
        if not right:
            picked &= self.labels != self.read_as
        where = np.flatnonzero(picked)
        confidence = self.confidence[where]
        order = np.argsort(confidence if right else -confidence, kind="stable")
        shown = where[order[:most]]
        return Chosen(
            indices=shown,
            true=self.labels[shown],
            read_as=self.read_as[shown],
            confidence=self.confidence[shown],
            total=len(where),
            title=_title(true, read_as, len(where)),
            order="least sure first" if right else "most confident first",
        )


def _title(true: int | None, read_as: int | None, count: int) -> str:
    digits = f"{count:,} test digit{'s' * (count != 1)}"
    if true is not None and true == read_as:
        return f"{true}s read right: {digits}"
    if true is not None and read_as is not None:
        return f"{true}s read as {read_as}: {digits}"
    if true is not None:
        return f"{true}s read as another digit: {digits}"
    if read_as is not None:
        return f"Other digits read as {read_as}: {digits}"
    return f"Every mistake: {digits}"


def evidence_tiles(classifier: Classifier, digits: np.ndarray, chosen: Chosen, pixel: int = 3) -> list[np.ndarray]:
    """Each chosen test digit (`digits`: their 28x28 float images, in `chosen`'s order) as the model saw it, beside
    its evidence for what it read against the truth (or, for a digit read right, against its runner-up): one RGB
    picture per digit."""
    if not len(chosen.indices):
        return []
    rivals = np.where(chosen.true != chosen.read_as, chosen.true, runner_up(classifier.predict(digits)))
    found = explain(classifier, digits, answers=chosen.read_as, rivals=rivals)
    return [pictures.digit_and_evidence(e.image, e.contributions, e.ink_toward_rival, pixel) for e in found]


def tile_alt(chosen: Chosen, i: int) -> str:
    """What a tile shows, for a screen reader."""
    true, read = int(chosen.true[i]), int(chosen.read_as[i])
    rival = f"ink that counted for {true} in blue" if true != read else "ink that counted for its runner-up in blue"
    return (
        f"Test digit {int(chosen.indices[i])}, a {true} the model read as {read}; beside it the same digit with the "
        f"ink that counted for {read} in red and {rival}"
    )


def tile_caption(chosen: Chosen, i: int) -> str:
    true, read, sure = int(chosen.true[i]), int(chosen.read_as[i]), float(chosen.confidence[i])
    if true == read:
        return f"a {true}, read right ({sure:.0%})"
    return f"a {true} read as {read} ({sure:.0%})"
