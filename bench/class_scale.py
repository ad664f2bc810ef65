"""Do the pages stay quick as a class's data grows? The Runs, Draw and Your drawings pages over a store with
10,000 drawings, 200 finished runs and 1,000 named people, run by Streamlit's AppTest (the server's share of a
page view; the target is at most 0.5 s each), and one look-up of who is who among 10,000 people.

    python -m bench.class_scale

Each page is run once to fill the caches (a class's server has long been running), then timed over warm runs:
the median is reported. Runs in a child process, so that nothing cached by other benchmarks counts.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from core.config import TrainConfig
from core.runs.classroom import account_owner
from core.runs.states import COMPLETED
from core.runs.store import RunStore
from core.training.data import bundled_mnist
from core.training.evaluation import evaluate
from core.training.isolated import run_isolated
from core.training.model import PlainModelFile

RUNS, DRAWINGS, PEOPLE, LOOKUP_PEOPLE = 200, 10_000, 1_000, 10_000
PAGES = ("pages/runs.py", "pages/draw.py", "pages/drawings.py")
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def build(root: Path, people: int = PEOPLE) -> RunStore:
    """A class's store: RUNS finished runs of one small network (each its own model file), DRAWINGS drawings of
    MNIST's training digits (real people's handwriting) in the drawings folder, `people` names."""
    store = RunStore(root / "runs")
    config = TrainConfig(hidden_layers=(32,))
    rng = np.random.default_rng(0)
    sizes = (784, 32, 10)
    weights = []
    for inputs, units in zip(sizes, sizes[1:]):
        weights += [rng.normal(0, 0.05, (inputs, units)).astype(np.float32), np.zeros(units, np.float32)]
    model = root / "model.keras"
    PlainModelFile(config, weights).save(model)
    test = bundled_mnist()
    metrics = evaluate(np.full((100, 10), 0.1), test["y_test"][:100], best_epoch=1, epochs_run=1,
                       train_seconds=1.0, train_images=100, parameters=25_450)  # fmt: skip
    owners = [account_owner(f"learner{i}@school.example") for i in range(people)]
    for i in range(RUNS):
        run_id = store.create_run(config, owner=owners[i % people], owner_name=f"Learner {i % people}")
        shutil.copy(model, store.run_dir(run_id) / "model.keras")
        store.save_metrics(run_id, metrics)
        store.update_status(
            run_id, status=COMPLETED, stop_reason="max_epochs", started=time.time(), finished=time.time()
        )
    drawings = root / "drawings"
    drawings.mkdir()
    for i in range(DRAWINGS):
        Image.fromarray(test["x_train"][i]).save(drawings / f"{test['y_train'][i]}_{i:05d}.png")
    names = {owner: f"Learner {i}" for i, owner in enumerate(owners)}
    (store.root / "classroom.json").write_text(json.dumps({"names": names, "leaderboard": True, "teachers": {}}))
    return store


def page_seconds(page: str, repeats: int) -> list[float]:
    """How long the page's script runs (from Streamlit's own call of it to its end), `repeats` + 1 times. AppTest's
    own bookkeeping is left out: it grows with the square of a page's elements, which a browser's does not."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    times, run_script = [], script_runner.exec_func_with_error_handling

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return run_script(*args, **kwargs)
        finally:
            times.append(time.perf_counter() - started)

    script_runner.exec_func_with_error_handling = timed
    try:
        for _ in range(repeats + 1):  # the first fills the caches
            app = AppTest.from_file(APP, default_timeout=600)
            app.switch_page(page)
            app.run()
            if app.exception:
                raise RuntimeError(f"{page}: {app.exception[0].message}")
    finally:
        script_runner.exec_func_with_error_handling = run_script
    return times


def measure_here(repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        store = build(root)
        os.environ["MNIST_RUNS_DIR"] = str(store.root)
        os.environ.pop("MNIST_DRAWINGS_DIR", None)
        pages = {page: page_seconds(page, repeats) for page in PAGES}
        big = build_people(root / "people", LOOKUP_PEOPLE)
        big.classroom()
        lookups = []
        for _ in range(20):
            started = time.perf_counter()
            big.classroom().names.get(account_owner("learner7@school.example"))
            lookups.append(time.perf_counter() - started)
    return {
        "pages": {page: {"first_s": t[0], "warm_s": statistics.median(t[1:])} for page, t in pages.items()},
        "lookup_ms": 1000 * statistics.median(lookups),
    }


def build_people(root: Path, people: int) -> RunStore:
    store = RunStore(root)
    store.root.mkdir(parents=True)
    names = {account_owner(f"learner{i}@school.example"): f"Learner {i}" for i in range(people)}
    (store.root / "classroom.json").write_text(json.dumps({"names": names, "leaderboard": True, "teachers": {}}))
    return store


def measure(repeats: int = 3) -> dict:
    return run_isolated("bench.class_scale", "measure_here", repeats, timeout=1800)


def summary(result: dict) -> str:
    pages = "; ".join(
        f"{page.split('/')[1].removesuffix('.py')} {times['warm_s']:.2f} s (first {times['first_s']:.1f} s)"
        for page, times in result["pages"].items()
    )
    return f"{pages}; who is who among {LOOKUP_PEOPLE:,} people: {result['lookup_ms']:.2f} ms"


if __name__ == "__main__":
    print(summary(measure()))
