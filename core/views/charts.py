"""Plotly figures: data in, figure out. No Streamlit, so every page and test can use them."""

from __future__ import annotations

import base64
import functools
import html
import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

TRAIN_COLOUR = "#4C78A8"
VALIDATION_COLOUR = "#F58518"
CURRENT_COLOUR, OTHER_COLOUR = TRAIN_COLOUR, "#B8C2CC"  # the run on the page; the runs it is compared with
MAX_BATCH_POINTS = 400  # per-batch points across the epoch axis: a smooth curve that costs the browser little
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=320, legend=dict(orientation="h", y=-0.2))
METRIC_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy (higher is better)"}
# The traces of `training_curves`, in order: (panel's metric, records drawn, the record's key, legend name).
# The live chart (core/engine/live_curves.py) appends to them by this position.
CURVE_TRACES = (
    ("loss", "batches", "loss", "training, per batch"),
    ("loss", "epochs", "loss", "training, per epoch"),
    ("loss", "epochs", "val_loss", "validation, per epoch"),
    ("accuracy", "batches", "accuracy", "training, per batch"),
    ("accuracy", "epochs", "accuracy", "training, per epoch"),
    ("accuracy", "epochs", "val_accuracy", "validation, per epoch"),
)
CURVES_HEIGHT = 410  # pixels


def epoch_axis_end(epochs: list[dict], max_epochs: int | None) -> float:
    """Where the curves' epoch axis ends: the planned epochs, or the last one run if that is further."""
    return max(max_epochs or 1, epochs[-1]["epoch"] if epochs else 1)


def starts_a_point(batches: list[dict], index: int, axis_end: float) -> bool:
    """Whether batch record `index` is drawn: the first record in each of MAX_BATCH_POINTS equal slices of the
    epoch axis (0 to `axis_end` epochs). It depends on this record and the one before only, so a live chart
    that appends the records as they come draws the same points as the finished chart drawn at once."""
    if index == 0:
        return True
    slice_of = lambda record: int(record["epoch"] * MAX_BATCH_POINTS / axis_end)
    return slice_of(batches[index]) != slice_of(batches[index - 1])


def curve_points(batches: list[dict], epochs: list[dict]) -> list[tuple[list, list]]:
    """(x, y) of each trace of CURVE_TRACES, in order, from the batch records to draw and the epoch records."""
    records = {"batches": batches, "epochs": epochs}
    return [
        ([r["epoch"] for r in records[kind] if key in r], [r[key] for r in records[kind] if key in r])
        for _, kind, key, _ in CURVE_TRACES
    ]


def training_curves(batches: list[dict], epochs: list[dict], max_epochs: int | None = None) -> go.Figure:
    """Loss and accuracy against (fractional) epochs, side by side in one figure.

    Each panel has the per-batch running mean (thin line) and the per-epoch training and validation
    values (markers). One figure, not two: one layout for the browser to draw.
    """
    from plotly.subplots import make_subplots

    # Each title on two lines: on a phone the panels are narrow, and one-line titles ran into each other.
    titles = [METRIC_TITLES[metric].replace(" (", "<br>(", 1) for metric in ("loss", "accuracy")]
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.06)
    axis_end = epoch_axis_end(epochs, max_epochs)
    drawn = [b for i, b in enumerate(batches) if starts_a_point(batches, i, axis_end)]
    for (metric, kind, _, name), (x, y) in zip(CURVE_TRACES, curve_points(drawn, epochs)):
        col = 1 if metric == "loss" else 2
        if kind == "batches":
            style = dict(mode="lines", line=dict(color=TRAIN_COLOUR, width=1), opacity=0.45)
            hover = "epoch %{x:.2f}: %{y:.4f}<extra></extra>"
        else:
            colour = VALIDATION_COLOUR if name.startswith("validation") else TRAIN_COLOUR
            style = dict(mode="lines+markers", line=dict(color=colour, width=2), marker=dict(size=7))
            hover = "epoch %{x}: %{y:.4f}<extra>" + name + "</extra>"
        figure.add_trace(
            go.Scatter(x=x, y=y, name=name, legendgroup=name, showlegend=col == 1, hovertemplate=hover, **style),
            row=1,
            col=col,
        )
    figure.update_xaxes(range=[0, axis_end], title_text="epoch")
    # Early batches' loss is ten times the rest: a log axis keeps both readable.
    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
    figure.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], row=1, col=1)
    # Accuracy's tick labels ("90.0%") on its right: between the panels they ran into the loss curves on a phone.
    figure.update_yaxes(tickformat=".1%", side="right", row=1, col=2)
    # Fixed margins with room for the tick labels and the legend: letting Plotly grow them to fit
    # ("autoexpand") measures the text and then draws the whole figure a second time. The bottom one holds the
    # legend on three rows, as it wraps on a phone.
    figure.update_layout(
        height=CURVES_HEIGHT,
        margin=dict(l=50, r=50, t=50, b=135, autoexpand=False),
        legend=dict(orientation="h", x=0, y=-0.22, yanchor="top"),
    )
    return figure


def confusion_matrix_figure(
    matrix: list[list[int]], true: int | None = None, predicted: int | None = None
) -> go.Figure:
    """Heatmap of true digit (rows) vs predicted digit (columns), counts in each cell; the cell, row or column of
    the digits shown below it (`true`, `predicted`; None for any) outlined.

    Over it, one invisible square marker per cell: Plotly reports clicks on markers, not on a heatmap's cells
    (and Streamlit's chart selection only on markers and bars), so a click on a cell selects its marker, whose
    y and x are the true and the predicted digit.
    """
    counts = np.asarray(matrix)
    # Colour by share of the row so mistakes show up next to the large diagonal.
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    digits = [str(d) for d in range(10)]
    rows, columns = np.divmod(np.arange(100), 10)
    figure = go.Figure(
        [
            go.Heatmap(
                z=np.sqrt(share),
                x=digits,
                y=digits,
                text=counts,
                texttemplate="%{text}",
                colorscale="Blues",
                showscale=False,
                hoverinfo="skip",
            ),
            go.Scatter(
                x=[digits[c] for c in columns],
                y=[digits[r] for r in rows],
                text=counts.ravel(),
                mode="markers",
                marker=dict(symbol="square", size=30, opacity=0),
                selected=dict(marker=dict(opacity=0)),
                unselected=dict(marker=dict(opacity=0)),
                hovertemplate="true %{y}, predicted %{x}: %{text} images (click to see them)<extra></extra>",
                showlegend=False,
            ),
        ]
    )
    figure.update_layout(
        title="Confusion matrix (test set)",
        xaxis_title="predicted digit",
        yaxis_title="true digit",
        clickmode="event+select",
        dragmode=False,
        **{**_LAYOUT, "height": 420},
    )
    if true is not None or predicted is not None:
        top, bottom = (true - 0.5, true + 0.5) if true is not None else (-0.5, 9.5)
        left, right = (predicted - 0.5, predicted + 0.5) if predicted is not None else (-0.5, 9.5)
        figure.add_shape(
            type="rect",
            x0=left,
            x1=right,
            y0=top,
            y1=bottom,
            line=dict(color=VALIDATION_COLOUR, width=3),
        )
    # Square cells, the axes hugging them (constrain), no grid lines through them.
    figure.update_xaxes(type="category", constrain="domain", showgrid=False)
    figure.update_yaxes(type="category", autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False)
    return figure


def per_class_accuracy_figure(per_class: list[float]) -> go.Figure:
    accuracy = np.asarray(per_class)
    worst = int(accuracy.argmin())
    figure = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=accuracy,
            text=[f"{a:.1%}" for a in accuracy],
            textposition="outside",
            marker_color=[VALIDATION_COLOUR if d == worst else TRAIN_COLOUR for d in range(10)],
            hovertemplate="digit %{x}: %{y:.2%} (click to see its mistakes)<extra></extra>",
        )
    )
    low = max(0.0, float(accuracy.min()) - 0.05)
    figure.update_layout(
        title="Accuracy per digit (test set; the weakest in orange)", xaxis_title="digit", **{**_LAYOUT, "height": 320}
    )
    figure.update_yaxes(range=[low, 1.015], tickformat=".0%")
    return figure


def weight_histograms(
    epochs: list[int],
    layers: list[tuple[np.ndarray, np.ndarray]],
    names: list[str],
    max_epoch: int | None = None,
    marked_epoch: int | None = None,
) -> dict:
    """How each layer's weights are spread, epoch by epoch: a heatmap per layer, as Plotly.js takes it (JSON:
    data and layout), without Plotly's template (the page styles it with the app's theme).

    `layers` holds, per layer, bin edges shared by every epoch and the share of the layer's weights in
    each bin, per epoch (core.runs.snapshots.common_histograms). A column is an epoch, a row a range of weight
    values; colour is the square root of the share, so the thin tails of the distribution still show.
    `marked_epoch` (the epoch slider's) is outlined in orange.

    Plotly's Python figure takes about a tenth of a second to build, at each epoch of a live run: it is built
    once per set of layers, axis and mark (`_weight_histograms_frame`), and each call fills in the numbers.
    """
    last = max(max_epoch if max_epoch is not None else 0, epochs[-1] if epochs else 0)
    figure = json.loads(_weight_histograms_frame(tuple(names), last, marked_epoch))  # a copy of its own
    for trace, (edges, shares) in zip(figure["data"], layers):
        trace.update(
            x=list(epochs),
            y=typed_array((edges[:-1] + edges[1:]) / 2),
            z=typed_array(np.sqrt(shares.T).astype(np.float32)),  # float32: half the bytes sent at each update
            customdata=typed_array(shares.T.astype(np.float32)),
        )
    return figure


@functools.lru_cache(maxsize=64)
def _weight_histograms_frame(names: tuple[str, ...], last: int, marked_epoch: int | None) -> str:
    """The figure of `weight_histograms` with empty heatmaps, as JSON text."""
    from plotly.subplots import make_subplots

    columns = min(len(names), 4)
    rows = -(-len(names) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=names, horizontal_spacing=0.06, vertical_spacing=0.2)
    for i in range(len(names)):
        row, col = i // columns + 1, i % columns + 1
        figure.add_trace(
            go.Heatmap(
                colorscale="Blues",
                zmin=0,
                showscale=False,
                hovertemplate="epoch %{x}, weights near %{y:.3f}: %{customdata:.1%}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        figure.update_xaxes(range=[-0.5, last + 0.5], title_text="epoch", row=row, col=col)
        if marked_epoch is not None:
            figure.add_vrect(
                x0=marked_epoch - 0.5,
                x1=marked_epoch + 0.5,
                line=dict(color=VALIDATION_COLOUR, width=2),
                row=row,
                col=col,
            )
    figure.update_yaxes(title_text="weight value", row=1, col=1)
    figure.update_layout(height=250 * rows + 40, margin=dict(l=60, r=10, t=40, b=40, autoexpand=False))
    plain = json.loads(figure.to_json())
    del plain["layout"]["template"]
    return json.dumps(plain)


def typed_array(values: np.ndarray) -> dict:
    """A float array as Plotly.js takes it compactly: its typed-array form (base64 bytes, as plotly.py's
    own JSON sends numpy arrays)."""
    values = np.ascontiguousarray(values)
    spec = {"dtype": {"float32": "f4", "float64": "f8"}[str(values.dtype)], "bdata": base64.b64encode(values).decode()}
    if values.ndim > 1:
        spec["shape"] = ", ".join(map(str, values.shape))
    return spec


def run_comparison(histories: dict[str, list[dict]], metric: str) -> go.Figure:
    """Validation (solid) and training (dotted) curves of several runs, one colour per run."""
    import plotly.express as px

    figure = go.Figure()
    for colour, (label, history) in zip(px.colors.qualitative.Plotly * 4, histories.items()):
        name = html.escape(label)  # a run's label is typed by a person; Plotly renders tags like <a href> in names
        epochs = [record["epoch"] for record in history]
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=[r.get(f"val_{metric}") for r in history],
                mode="lines+markers",
                name=f"{name} (validation)",
                line=dict(color=colour, width=2),
                legendgroup=name,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=[r.get(metric) for r in history],
                mode="lines",
                name=f"{name} (training)",
                line=dict(color=colour, width=1, dash="dot"),
                legendgroup=name,
            )
        )
    figure.update_layout(title=METRIC_TITLES[metric], xaxis_title="epoch", **{**_LAYOUT, "height": 380})
    if metric == "accuracy":
        figure.update_yaxes(tickformat=".1%")
    return figure


@dataclass(frozen=True)
class TradePoint:
    """One model on the trade between your handwriting and everyone's: its two accuracies, and its name."""

    label: str  # "untaught", "weight 30%"
    mnist_accuracy: float
    drawings_accuracy: float
    weight: float  # of your drawings in each epoch (0 for a model not taught)
    current: bool = False


def trade_figure(points: list[TradePoint], tested: int) -> go.Figure:
    """Each model at (MNIST test accuracy, accuracy on your kept-out drawings): up is better for you, right for
    everyone; the run on the page is the large marker."""
    figure = go.Figure(
        go.Scatter(
            x=[p.mnist_accuracy for p in points],
            y=[p.drawings_accuracy for p in points],
            text=[html.escape(p.label) for p in points],
            mode="markers+text",
            textposition="top center",
            marker=dict(
                size=[16 if p.current else 10 for p in points],
                color=[CURRENT_COLOUR if p.current else OTHER_COLOUR for p in points],
                line=dict(width=1, color="rgba(128, 128, 128, 0.9)"),  # a mid grey: an edge on either theme
            ),
            hovertemplate="%{text}<br>MNIST test %{x:.2%}<br>your drawings %{y:.0%}<extra></extra>",
        )
    )
    figure.update_layout(
        title="Yours against everyone's",
        xaxis_title="MNIST test accuracy (everyone's digits)",
        yaxis_title=f"your {tested} kept-out drawings",
        showlegend=False,
        **{**_LAYOUT, "height": 320},
    )
    figure.update_xaxes(tickformat=".1%", range=_padded([p.mnist_accuracy for p in points], 0.002))
    figure.update_yaxes(tickformat=".0%", range=_padded([p.drawings_accuracy for p in points], 0.02))
    return figure


def _padded(values: list[float], least: float) -> list[float]:
    """An axis range around `values` with room for the markers and their labels on every side."""
    low, high = min(values), max(values)
    room = max((high - low) * 0.15, least)
    return [low - room, high + room * 1.6]  # more above: the labels sit over their markers
