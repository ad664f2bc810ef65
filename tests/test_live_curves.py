"""What the live chart is sent: only what is new, and, appended up, the same curves as the finished figure."""

import random

from core.engine.live_curves import Cursor, new_points
from core.views.charts import CURVE_TRACES, MAX_BATCH_POINTS, training_curves


def records(epochs: int, calls_per_epoch: int, steps: int = 94) -> tuple[list[dict], list[dict]]:
    """Records as the engine streams them: a batch record every few steps (running means), one per epoch."""
    batches, history = [], []
    every = -(-steps // calls_per_epoch)
    for epoch in range(epochs):
        for step in [*range(every, steps, every), steps]:
            loss = 2.0 / (1 + epoch + step / steps)
            batches.append({"epoch": epoch + step / steps, "step": step, "loss": loss, "accuracy": 1 - loss / 4})
        history.append(
            {"epoch": epoch + 1, "loss": loss, "accuracy": 1 - loss / 4, "val_loss": loss * 0.9, "val_accuracy": 0.9}
        )
    return batches, history


def appended(batches: list[dict], history: list[dict], max_epochs: int, seen: list[tuple[int, int]]) -> list:
    """Send the records as they would have arrived (`seen`: how many there were at each update), append what
    each update carries the way Plotly.extendTraces does, and return every trace's (x, y)."""
    traces = [([], []) for _ in CURVE_TRACES]
    cursor = Cursor()
    for b, e in seen:
        update, cursor = new_points(batches[:b], history[:e], cursor, max_epochs)
        for (x, y), new_x, new_y in zip(traces, update["x"], update["y"]):
            x += new_x
            y += new_y
    return traces


def test_updates_appended_as_they_come_draw_what_the_finished_figure_draws():
    batches, history = records(epochs=5, calls_per_epoch=7)
    rng = random.Random(0)
    seen = sorted(
        {(b, sum(r["epoch"] <= batches[b - 1]["epoch"] for r in history)) for b in rng.sample(range(1, 36), 12)}
    )
    live = appended(batches, history, 20, [*seen, (len(batches), len(history))])
    finished = training_curves(batches, history, 20)
    assert live == [(list(trace.x), list(trace.y)) for trace in finished.data]
    assert live[0][0] == [b["epoch"] for b in batches]  # every batch record, at its fractional epoch
    assert live[2][0] == [1, 2, 3, 4, 5]  # validation per epoch


def test_the_first_update_brings_the_figure_and_the_next_ones_only_what_is_new():
    batches, history = records(epochs=2, calls_per_epoch=4)
    first, cursor = new_points(batches[:3], [], Cursor(), max_epochs=10)
    assert first["from"] == [0, 0] and first["to"] == [3, 0] and cursor == Cursor(3, 0)
    assert len(first["figure"]["data"]) == len(CURVE_TRACES) and "template" not in first["figure"]["layout"]
    assert first["x"][0] == [b["epoch"] for b in batches[:3]] and first["x"][1] == []
    second, cursor = new_points(batches[:5], history[:1], cursor, max_epochs=10)
    assert "figure" not in second
    assert second["from"] == [3, 0] and second["to"] == [5, 1] and cursor == Cursor(5, 1)
    assert second["x"][0] == [batches[3]["epoch"], batches[4]["epoch"]]
    assert second["x"][1] == [1] and second["y"][5] == [0.9]  # training and validation markers of epoch 1


def test_nothing_new_is_an_empty_update_that_ends_where_it_starts():
    batches, history = records(epochs=1, calls_per_epoch=4)
    _, cursor = new_points(batches, history, Cursor(), max_epochs=3)
    update, again = new_points(batches, history, cursor, max_epochs=3)
    assert update["from"] == update["to"] == [4, 1] and again == cursor
    assert update["x"] == update["y"] == [[]] * len(CURVE_TRACES)


def test_a_cursor_from_the_browser_beyond_the_records_or_below_zero_is_kept_within_them():
    batches, history = records(epochs=1, calls_per_epoch=4)
    update, cursor = new_points(batches, history, Cursor(99, -3), max_epochs=3)
    assert update["from"] == [4, 0] and cursor == Cursor(4, 1)
    assert "figure" not in update  # not from the start: the chart that asked holds a figure


def test_a_long_run_draws_at_most_one_batch_point_per_slice_of_the_epoch_axis():
    batches, history = records(epochs=200, calls_per_epoch=40, steps=400)
    live = appended(batches, history, 200, [(len(batches) * k // 7, len(history) * k // 7) for k in range(1, 8)])
    assert len(batches) == 8000 and MAX_BATCH_POINTS // 2 <= len(live[0][0]) <= MAX_BATCH_POINTS + 1
    assert len(live[1][0]) == 200  # every epoch keeps its markers
