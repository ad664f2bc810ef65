"""What the Train page's live chart still lacks: the points of a training that are new since its last update.

The browser draws the curves' figure once and then only appends to it, so an update carries the few
records that arrived in the last half second, not a whole figure for the browser to rebuild and redraw.
The chart keeps a cursor (how many batch and epoch records it holds) and asks the live feed
(core/live_feed.py) from there; `new_points` turns the training's records and that cursor into the
update and the next cursor.
The chart drawn this way shows the same points as `charts.training_curves` draws for the finished run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from core.views import charts


@dataclass(frozen=True)
class Cursor:
    """How many of a training's batch records and epoch records a chart has been sent (records, not points:
    most batch records are not drawn, see `charts.starts_a_point`)."""

    batches: int = 0
    epochs: int = 0

    def clamped(self, batches: int, epochs: int) -> Cursor:
        """This cursor within 0 and the records there are (what a browser reports is not trusted)."""
        return Cursor(min(max(self.batches, 0), batches), min(max(self.epochs, 0), epochs))


@lru_cache(maxsize=16)
def empty_figure(max_epochs: int) -> dict:
    """The curves' figure without points, as Plotly.js takes it: layout, styles and one empty trace per curve.
    Without Plotly's template (two thirds of it): the browser styles it with the app's theme."""
    figure = json.loads(charts.training_curves([], [], max_epochs).to_json())
    del figure["layout"]["template"]
    return figure


def new_points(batches: list[dict], epochs: list[dict], cursor: Cursor, max_epochs: int) -> tuple[dict, Cursor]:
    """The update that brings a chart holding `cursor`'s records up to all of `batches` and `epochs`.

    Returns the update and the cursor after it. The update is JSON:
    `from` and `to` ([batch records, epoch records]) say which records it covers, so the browser can tell
    whether it follows on from what it holds; `x` and `y` hold the new points of each trace of
    `charts.CURVE_TRACES`, in order (empty lists where a trace has none); an update from the start
    (from [0, 0]) also carries `figure`, the empty figure to draw first.

    Example:
        update, cursor = new_points(batches, epochs, Cursor(), max_epochs=20)   # everything so far
        update, cursor = new_points(batches, epochs, cursor, max_epochs=20)     # only what came since
    """
    cursor = cursor.clamped(len(batches), len(epochs))
    axis_end = charts.epoch_axis_end(epochs, max_epochs)
    drawn = [batches[i] for i in range(cursor.batches, len(batches)) if charts.starts_a_point(batches, i, axis_end)]
    points = charts.curve_points(drawn, epochs[cursor.epochs :])
    update = {
        "from": [cursor.batches, cursor.epochs],
        "to": [len(batches), len(epochs)],
        "x": [x for x, _ in points],
        "y": [y for _, y in points],
    }
    if cursor == Cursor():
        update["figure"] = empty_figure(max_epochs)
    return update, Cursor(len(batches), len(epochs))
