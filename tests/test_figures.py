"""Plotly figure builders: data in, figure out, checked without a browser."""

import numpy as np

from core import figures


def test_weight_histograms_draw_a_heatmap_per_layer_and_outline_the_chosen_epoch():
    edges = np.linspace(-1, 1, 5)
    shares = np.array([[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25]])
    figure = figures.weight_histograms(
        [0, 1], [(edges, shares)] * 3, ["hidden 1", "hidden 2", "output"], marked_epoch=1
    )
    heatmaps = [trace for trace in figure.data if trace.type == "heatmap"]
    assert len(heatmaps) == 3
    np.testing.assert_allclose(heatmaps[0].customdata, shares.T)  # rows: weight values, columns: epochs
    assert list(heatmaps[0].y) == [-0.75, -0.25, 0.25, 0.75]
    assert [annotation.text for annotation in figure.layout.annotations] == ["hidden 1", "hidden 2", "output"]
    assert [(shape.x0, shape.x1) for shape in figure.layout.shapes] == [(0.5, 1.5)] * 3
    live = figures.weight_histograms([0, 1], [(edges, shares)], ["hidden 1"], max_epoch=20)
    assert not live.layout.shapes and tuple(live.layout.xaxis.range) == (-0.5, 20.5)  # room for the epochs to come
