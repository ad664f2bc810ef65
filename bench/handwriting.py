"""Teaching a model real people's handwriting: before and after, on writers it was not taught with.

The digits are UCI's pen-based digits (bench/pendigits.py): 44 people wrote them with a stylus, and
each is drawn again stroke by stroke on a canvas like the Draw page's. 12 of each digit, chosen at
random among the 30 writers of the set's first part, go into a drawings folder through the Draw page's
own saving; the app keeps 2 of each out, so 10 of each teach. The test is every digit of the 14 other
writers (3,498), so no test digit's writer taught the model.

Trainings through the app's own engine: the default model on MNIST alone (before); the same settings
with "Include your drawings" (from scratch); and fine-tunes of the first at each weight in WEIGHTS (the
default weight's is the headline). Each is read on the other writers' digits and on MNIST's test images.

    python -m bench.handwriting [--epochs N] [--seed N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import pendigits
from core.config import DEFAULTS, TrainConfig
from core.drawings.folder import DrawingSet
from core.drawings.inference import Classifier
from core.drawings.preprocessing import preprocess_drawing
from core.engine.jobs import JobManager
from core.runs.drawings_record import DrawingsRecord
from core.runs.store import RunStore
from core.training.teaching import fine_tune_config

TEACH_PER_DIGIT = 12  # the app keeps every fifth of each digit out: 10 of each teach
WEIGHTS = (0.1, 0.3, DEFAULTS.drawing_weight, 0.8)  # the fine-tunes' weights of your drawings: the trade, measured


def teaching_canvases(seed: int) -> list[tuple[int, np.ndarray]]:
    """(digit, canvas) pairs: TEACH_PER_DIGIT digits of each, at random among the first part's writers."""
    digits = pendigits.read("tra")
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        of_digit = [d for d in digits if d.label == digit]
        chosen += [of_digit[i] for i in rng.choice(len(of_digit), TEACH_PER_DIGIT, replace=False)]
    return [(d.label, pendigits.draw(d)) for d in chosen]


def test_set() -> tuple[np.ndarray, np.ndarray]:
    """Every digit of the other writers (the set's second part), as the model sees it, and its label."""
    digits = pendigits.read("tes")
    return np.stack([preprocess_drawing(pendigits.draw(d)).image for d in digits]), np.array([d.label for d in digits])


def _train(manager: JobManager, config: TrainConfig, drawings: DrawingsRecord | None = None) -> str:
    job = manager.submit(config, drawings)
    job.wait()
    if job.error:
        raise RuntimeError(job.error)
    return job.run_id


def measure(epochs: int | None = None, store: RunStore | None = None, before: str | None = None, seed: int = 0) -> dict:
    """Other writers' and MNIST's test accuracy before teaching, after including the drawings, after fine-tunes.

    `epochs` caps the full trainings (default: the default model's 20, with early stopping). `store` and
    `before` reuse a default model already trained there (python -m bench trains one anyway). `seed`
    chooses the teaching digits.
    """
    started = time.time()
    base_config = TrainConfig() if epochs is None else TrainConfig(epochs=epochs)
    with tempfile.TemporaryDirectory() as folder:
        store = store or RunStore(Path(folder) / "runs")
        drawings = DrawingSet(Path(folder) / "drawings")
        for digit, canvas in teaching_canvases(seed):
            drawings.save(digit, canvas)
        images, labels = test_set()
        manager = JobManager(store)
        if before is not None:
            base_config = store.load_config(before)
        runs = {"before": before or _train(manager, base_config)}
        runs["include"] = _train(
            manager, base_config.replace(include_drawings=True), DrawingsRecord(folder=str(drawings.folder))
        )
        tune_seconds = {}
        for weight in WEIGHTS:
            tune_started = time.time()
            runs[f"fine-tune {weight:g}"] = _train(
                manager,
                fine_tune_config(base_config, weight),
                DrawingsRecord(folder=str(drawings.folder), parent=runs["before"]),
            )
            tune_seconds[weight] = time.time() - tune_started
        result = {"epochs": epochs, "seed": seed, "tested": len(labels), "fine_tune_seconds": tune_seconds}
        for name, run_id in runs.items():
            predicted = Classifier.load(store.model_path(run_id)).predict(images).argmax(axis=1)
            metrics = store.load_metrics(run_id)
            trained = store.load_drawings_record(run_id)
            result[name] = {
                "accuracy": float((predicted == labels).mean()),
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
    before, include = result["before"], result["include"]
    tune = result[f"fine-tune {DEFAULTS.drawing_weight:g}"]

    def moved(after: dict) -> str:
        return (
            f"{after['accuracy']:.1%} ({(after['accuracy'] - before['accuracy']) * 100:+.1f} points), MNIST "
            f"{after['mnist_accuracy']:.2%} ({(after['mnist_accuracy'] - before['mnist_accuracy']) * 100:+.2f})"
        )

    return (
        f"{result['tested']:,} digits by 14 other writers: {before['accuracy']:.1%} before (MNIST test "
        f"{before['mnist_accuracy']:.2%}); taught with 10 of each digit: include {moved(include)}; fine-tune "
        f"{moved(tune)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="cap the two full trainings' epochs")
    parser.add_argument("--seed", type=int, default=0, help="choose other teaching digits")
    args = parser.parse_args()
    result = measure(args.epochs, seed=args.seed)
    print(
        f"UCI pen digits: {TEACH_PER_DIGIT * 10} by 30 writers in the folder ({TEACH_PER_DIGIT - 2} of each digit "
        f"teach, the app keeps 2 out; seed {args.seed}), {result['tested']:,} by 14 others to test; default settings"
        + (f", at most {args.epochs} epochs" if args.epochs else "")
    )
    for name in ("before", "include", *(f"fine-tune {w:g}" for w in WEIGHTS)):
        r = result[name]
        digits = " ".join(f"{d}:{a:.0%}" for d, a in enumerate(r["per_digit"]))
        print(
            f"{name:<14} other writers {r['accuracy']:6.1%}  MNIST test {r['mnist_accuracy']:.2%}  "
            f"{r['epochs_run']} epochs, {r['train_seconds']:.0f} s; trained on {r['trained_on']} drawings "
            f"x{r['copies']}  [{digits}]"
        )
    print(summary(result))
    print(f"({result['seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
