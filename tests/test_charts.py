"""Plotly figure builders: data in, figure out, checked without a browser."""

import base64

import numpy as np
import plotly.graph_objects as go

from core.views import charts


def decoded(array: dict) -> np.ndarray:
    """A typed array as Plotly.js reads it."""
    values = np.frombuffer(base64.b64decode(array["bdata"]), dtype={"f4": np.float32, "f8": np.float64}[array["dtype"]])
    return values.reshape([int(n) for n in array["shape"].split(",")]) if "shape" in array else values


def test_weight_histograms_draw_a_heatmap_per_layer_and_outline_the_chosen_epoch():
    edges = np.linspace(-1, 1, 5)
    shares = np.array([[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25]])
    figure = charts.weight_histograms([0, 1], [(edges, shares)] * 3, ["hidden 1", "hidden 2", "output"], marked_epoch=1)
    go.Figure(figure)  # Plotly's own checks take it
    heatmaps = [trace for trace in figure["data"] if trace["type"] == "heatmap"]
    assert len(heatmaps) == 3 and heatmaps[0]["x"] == [0, 1]
    np.testing.assert_allclose(decoded(heatmaps[0]["customdata"]), shares.T)  # rows: weight values, columns: epochs
    np.testing.assert_allclose(decoded(heatmaps[0]["z"]), np.sqrt(shares.T), rtol=1e-6)
    assert list(decoded(heatmaps[0]["y"])) == [-0.75, -0.25, 0.25, 0.75]
    layout = figure["layout"]
    assert [annotation["text"] for annotation in layout["annotations"]] == ["hidden 1", "hidden 2", "output"]
    assert [(shape["x0"], shape["x1"]) for shape in layout["shapes"]] == [(0.5, 1.5)] * 3
    assert "template" not in layout  # the page styles it

    live = charts.weight_histograms([0, 1], [(edges, shares)], ["hidden 1"], max_epoch=20)
    assert "shapes" not in live["layout"] and live["layout"]["xaxis"]["range"] == [-0.5, 20.5]  # room to come
    later = charts.weight_histograms([0, 1, 2], [(edges, np.vstack([shares, shares[:1]]))], ["hidden 1"], max_epoch=20)
    assert later["data"][0]["x"] == [0, 1, 2] and live["data"][0]["x"] == [0, 1]  # each call its own figure
