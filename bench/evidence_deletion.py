"""Is the Draw page's "Why this answer" real? Erase the evidence and see the answer fall.

Over 1,000 MNIST test digits: for each, the evidence for the model's answer against its runner-up
(core.drawings.evidence). Erase the k ink pixels with the most evidence for the answer, and, apart, k ink
pixels chosen at random (averaged over several draws), and compare how much the answer's probability falls.
Evidence worth showing costs the answer clearly more when erased than the same amount of random ink
(the target: at least twice the fall at k = 20).

Also times what the panel adds to each stroke on the server: the evidence and its picture, beside the
prediction itself (interleaved, medians).

    python -m bench.evidence_deletion MODEL.keras [--digits 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from core.drawings.evidence import explain
from core.drawings.inference import Classifier
from core.training.data import bundled_mnist, to_float
from core.views import pictures

KS = (10, 20, 50)
RANDOM_DRAWS = 5


def _answer_probability(classifier: Classifier, images: np.ndarray, answers: np.ndarray) -> np.ndarray:
    return classifier.predict(images)[np.arange(len(images)), answers]


def deletion(classifier: Classifier, images: np.ndarray, ks=KS, draws: int = RANDOM_DRAWS, seed: int = 0) -> dict:
    """Mean fall of the answer's probability after erasing k evidence pixels and k random ink pixels, per k."""
    flat = images.reshape(len(images), -1)
    found = explain(classifier, images)
    answers = np.array([e.answer for e in found])
    before = _answer_probability(classifier, images, answers)
    ink = flat > 0
    # Pixels without ink never rank: erasing them changes nothing.
    scores = np.where(ink, np.stack([e.contributions.ravel() for e in found]), -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")
    rng = np.random.default_rng(seed)
    result = {"digits": len(images), "ks": list(ks), "evidence": [], "random": []}
    for k in ks:
        erased = flat.copy()
        rows = np.arange(len(images))[:, None]
        top = order[:, :k]
        erased[rows, top] = np.where(ink[rows, top], 0, erased[rows, top])
        result["evidence"].append(float((before - _answer_probability(classifier, erased, answers)).mean()))
        falls = []
        for _ in range(draws):
            erased = flat.copy()
            for i in range(len(images)):
                inked = np.flatnonzero(ink[i])
                erased[i, rng.choice(inked, size=min(k, len(inked)), replace=False)] = 0
            falls.append(float((before - _answer_probability(classifier, erased, answers)).mean()))
        result["random"].append(statistics.fmean(falls))
    result["ratio_at_20"] = result["evidence"][ks.index(20)] / max(result["random"][ks.index(20)], 1e-9)
    return result


def panel_cost(classifier: Classifier, images: np.ndarray, repeats: int = 200) -> dict:
    """Median ms per drawing: the prediction, and the evidence with its picture, interleaved."""
    predict, why = [], []
    for i in range(repeats):
        image = images[i % len(images)]
        start = time.perf_counter()
        classifier.classify(image)
        middle = time.perf_counter()
        evidence = explain(classifier, image)[0]
        pictures.data_uri(pictures.evidence_image(evidence.image, evidence.contributions, evidence.ink_toward_rival))
        end = time.perf_counter()
        predict.append(middle - start)
        why.append(end - middle)
    return {"predict_ms": 1000 * statistics.median(predict), "why_ms": 1000 * statistics.median(why)}


def measure(model_path: str, digits: int = 1000) -> dict:
    classifier = Classifier.load(model_path)
    images = to_float(bundled_mnist()["x_test"][:digits])
    return {**deletion(classifier, images), **panel_cost(classifier, images)}


def summary(result: dict) -> str:
    falls = "; ".join(
        f"k={k}: {evidence:.1%} vs {random:.1%}"
        for k, evidence, random in zip(result["ks"], result["evidence"], result["random"])
    )
    return (
        f"fall of the answer's probability, evidence vs random ink erased: {falls} "
        f"({result['ratio_at_20']:.1f}x at k=20; target 2x or more); the panel adds {result['why_ms']:.1f} ms a "
        f"stroke on the server (the prediction {result['predict_ms']:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a .keras file the app saved")
    parser.add_argument("--digits", type=int, default=1000)
    args = parser.parse_args()
    result = measure(args.model, args.digits)
    print(summary(result))


if __name__ == "__main__":
    main()
