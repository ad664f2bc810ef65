"""Teaching a model one person's handwriting: styled digits unlike MNIST's, before and after.

The "person" writes 1s with a lead-in stroke and a foot, crossed 7s with a hook, open 4s, slashed
0s, flat-topped 3s, curly 2s, 5s with a separate bar, 6s with a straight stem, stacked-ring 8s and
9s with a hooked tail (STYLED, drawn as pen strokes by bench/drawn_digits.py's renderer, each with
its own slant, size, place and pen). 12 drawings of each digit go into a drawings folder through
the Draw page's own saving; the app keeps 2 of each out, so 10 of each teach. 200 other drawings
(20 of each digit, another seed) test.

Three trainings through the app's own engine: the default model on MNIST alone (before); the same
settings with "Include your drawings" (from scratch); and a fine-tune of the first on the drawings.
Each is read on the 200 test drawings, and on MNIST's 10,000 test images.

    python -m bench.handwriting [--epochs N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.drawn_digits import _ellipse, render
from core.config import TrainConfig
from core.drawings.folder import DrawingSet
from core.drawings.inference import Classifier
from core.drawings.preprocessing import preprocess_drawing
from core.engine.jobs import JobManager
from core.runs.drawings_record import DrawingsRecord
from core.runs.store import RunStore
from core.training.teaching import fine_tune_config

TEACH_PER_DIGIT = 12  # the app keeps every fifth of each digit out: 10 of each teach
TEST_PER_DIGIT = 20

STYLED: dict[int, list[list[tuple[float, float]]]] = {
    0: [_ellipse(0.5, 0.5, 0.3, 0.46), [(0.78, 0.12), (0.22, 0.88)]],  # slashed zero
    1: [[(0.22, 0.32), (0.55, 0.04), (0.55, 0.96)], [(0.25, 0.96), (0.85, 0.96)]],  # lead-in and foot
    2: [
        [
            (0.2, 0.25),
            (0.4, 0.05),
            (0.7, 0.08),
            (0.78, 0.3),
            (0.5, 0.65),
            (0.25, 0.88),
            (0.18, 0.97),
            (0.32, 0.98),
            (0.36, 0.86),
            (0.5, 0.93),
            (0.88, 0.93),
        ]
    ],  # a loop at the foot
    3: [[(0.2, 0.05), (0.8, 0.05), (0.42, 0.42), (0.72, 0.52), (0.82, 0.76), (0.55, 0.97), (0.18, 0.86)]],  # flat top
    4: [[(0.2, 0.04), (0.2, 0.6), (0.88, 0.6)], [(0.66, 0.04), (0.66, 0.97)]],  # open top
    5: [[(0.3, 0.06), (0.24, 0.46), (0.55, 0.38), (0.8, 0.56), (0.78, 0.83), (0.5, 0.97), (0.18, 0.86)]]
    + [[(0.3, 0.06), (0.86, 0.04)]],  # the bar drawn apart
    6: [[(0.72, 0.04), (0.28, 0.62), (0.26, 0.82), (0.42, 0.96), (0.66, 0.93), (0.76, 0.75), (0.6, 0.6), (0.3, 0.66)]],
    7: [[(0.1, 0.2), (0.14, 0.06), (0.86, 0.06), (0.42, 0.97)], [(0.3, 0.5), (0.82, 0.5)]],  # hook and bar
    8: [_ellipse(0.5, 0.26, 0.2, 0.22), _ellipse(0.5, 0.73, 0.28, 0.25)],  # two stacked rings
    9: [[(0.75, 0.3), (0.55, 0.06), (0.3, 0.12), (0.24, 0.33), (0.42, 0.48), (0.72, 0.4), (0.75, 0.3)]]
    + [[(0.75, 0.3), (0.75, 0.84), (0.6, 0.98), (0.32, 0.92)]],  # a hooked tail
}


def styled_canvases(per_digit: int, seed: int) -> list[tuple[int, np.ndarray]]:
    """(digit, RGBA canvas) pairs: `per_digit` styled drawings of each digit."""
    rng = np.random.default_rng(seed)
    return [(digit, render(digit, rng, STYLED)) for digit in range(10) for _ in range(per_digit)]


def styled_test_set(per_digit: int = TEST_PER_DIGIT, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    pairs = styled_canvases(per_digit, seed)
    return np.stack([preprocess_drawing(canvas).image for _, canvas in pairs]), np.array([d for d, _ in pairs])


def _train(manager: JobManager, config: TrainConfig, drawings: DrawingsRecord | None = None) -> str:
    job = manager.submit(config, drawings)
    job.wait()
    if job.error:
        raise RuntimeError(job.error)
    return job.run_id


def measure(epochs: int | None = None, store: RunStore | None = None, before: str | None = None) -> dict:
    """Styled-digit and MNIST test accuracy before teaching, after including the drawings, after fine-tuning.

    `epochs` caps the full trainings (default: the default model's 20, with early stopping). `store` and
    `before` reuse a default model already trained there (python -m bench trains one anyway).
    """
    started = time.time()
    base_config = TrainConfig() if epochs is None else TrainConfig(epochs=epochs)
    with tempfile.TemporaryDirectory() as folder:
        store = store or RunStore(Path(folder) / "runs")
        drawings = DrawingSet(Path(folder) / "drawings")
        for digit, canvas in styled_canvases(TEACH_PER_DIGIT, seed=1):
            drawings.save(digit, canvas)
        images, labels = styled_test_set()
        manager = JobManager(store)
        if before is not None:
            base_config = store.load_config(before)
        runs = {"before": before or _train(manager, base_config)}
        runs["include"] = _train(
            manager, base_config.replace(include_drawings=True), DrawingsRecord(folder=str(drawings.folder))
        )
        tune_started = time.time()
        runs["fine-tune"] = _train(
            manager,
            fine_tune_config(base_config),
            DrawingsRecord(folder=str(drawings.folder), parent=runs["before"]),
        )
        fine_tune_seconds = time.time() - tune_started
        result = {"epochs": epochs, "fine_tune_seconds": fine_tune_seconds}
        for name, run_id in runs.items():
            predicted = Classifier.load(store.model_path(run_id)).predict(images).argmax(axis=1)
            metrics = store.load_metrics(run_id)
            trained = store.load_drawings_record(run_id)
            result[name] = {
                "styled_accuracy": float((predicted == labels).mean()),
                "per_digit": [float((predicted[labels == d] == d).mean()) for d in range(10)],
                "mnist_accuracy": metrics.test_accuracy,
                "epochs_run": metrics.epochs_run,
                "train_seconds": metrics.train_seconds,
                "trained_on": len(trained.trained_on) if trained else 0,
                "copies": trained.copies if trained else 0,
            }
    result["seconds"] = time.time() - started
    return result


def summary(result: dict) -> str:
    """One line for the benchmark table."""
    before, include, tune = result["before"], result["include"], result["fine-tune"]

    def moved(after: dict) -> str:
        return f"{(after['mnist_accuracy'] - before['mnist_accuracy']) * 100:+.2f} points"

    return (
        f"{TEST_PER_DIGIT * 10} styled digits: {before['styled_accuracy']:.1%} before; after teaching with "
        f"{TEACH_PER_DIGIT - 2} of each, include {include['styled_accuracy']:.1%}, "
        f"fine-tune {tune['styled_accuracy']:.1%}. MNIST test {before['mnist_accuracy']:.2%} before; "
        f"include {include['mnist_accuracy']:.2%} ({moved(include)}), fine-tune {tune['mnist_accuracy']:.2%} "
        f"({moved(tune)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="cap the two full trainings' epochs")
    args = parser.parse_args()
    result = measure(args.epochs)
    print(
        f"{TEACH_PER_DIGIT * 10} styled drawings in the folder ({TEACH_PER_DIGIT - 2} of each digit teach, the app "
        f"keeps 2 out), {TEST_PER_DIGIT * 10} others to test; default settings"
        + (f", at most {args.epochs} epochs" if args.epochs else "")
    )
    for name in ("before", "include", "fine-tune"):
        r = result[name]
        digits = " ".join(f"{d}:{a:.0%}" for d, a in enumerate(r["per_digit"]))
        print(
            f"{name:<10} styled {r['styled_accuracy']:6.1%}  MNIST test {r['mnist_accuracy']:.2%}  "
            f"{r['epochs_run']} epochs, {r['train_seconds']:.0f} s; trained on {r['trained_on']} drawings "
            f"x{r['copies']}  [{digits}]"
        )
    print(summary(result))
    print(f"({result['seconds']:.0f} s in all; the fine-tune {result['fine_tune_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
