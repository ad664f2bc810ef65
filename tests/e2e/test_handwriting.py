"""Correcting the model on the Draw page, in Chromium: the canvas's drawing is saved with its label."""

import re

from core.config import TrainConfig
from core.drawings.folder import DrawingSet
from core.runs.store import RunStore
from core.training.evaluation import evaluate
from core.training.model import build_model, export_model
from tests.browser import wait_idle
from tests.e2e.test_learner_path import ONE, ZERO, clear_canvas, prediction_after


def saved(folder) -> dict[str, int]:
    return {drawing.name: drawing.label for drawing in DrawingSet(folder).scan().drawings}


def test_right_and_it_is_a_save_the_drawing_with_its_label(server, page, tmp_path):
    store = RunStore(server.runs_dir)
    config = TrainConfig(hidden_layers=(16,))
    run_id = store.create_run(config)
    store.save_model(run_id, export_model(build_model(config), config))  # untrained: what it reads does not matter
    store.save_metrics(
        run_id, evaluate([[0.1] * 10], [3], best_epoch=1, epochs_run=1, train_seconds=1, train_images=1, parameters=1)
    )
    store.update_status(run_id, status="completed")
    folder = tmp_path / "drawings"  # beside the server's run store

    page.goto(f"{server.url}/draw")
    page.locator("canvas.upper-canvas").wait_for()
    headline, _ = prediction_after(page, ONE)
    predicted = int(re.match(r"Prediction: (\d)", headline).group(1))
    page.get_by_role("button", name="1", exact=True).click()
    page.get_by_text("Saved as a 1 in your drawings").wait_for()
    assert list(saved(folder).values()) == [1]

    page.get_by_role("button", name="7", exact=True).click()  # a second thought: the same drawing, relabelled
    page.get_by_text("instead of as a 1").wait_for()
    assert list(saved(folder).values()) == [7]

    page.get_by_role("button", name="Right", exact=True).click()
    if predicted == 7:
        page.get_by_text("Already in your drawings").wait_for()
    else:
        page.get_by_text(f"Saved as a {predicted} in your drawings").wait_for()
    assert list(saved(folder).values()) == [predicted]

    clear_canvas(page)
    prediction_after(page, ZERO)
    page.get_by_role("button", name="0", exact=True).click()
    page.get_by_text("Saved as a 0 in your drawings").wait_for()
    assert sorted(saved(folder).values()) == sorted([predicted, 0])

    page.goto(f"{server.url}/drawings")
    wait_idle(page)
    page.get_by_text("2 drawings in").wait_for()
    zero = next(name for name, label in saved(folder).items() if label == 0)
    page.get_by_text(zero, exact=True).wait_for()  # in the gallery, under its digit (the first tab, 0, shows)
    assert "Traceback" not in server.log()
