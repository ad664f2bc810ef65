"""The map of a model's last hidden layer: plain numpy, checked against a full decomposition."""

import numpy as np

from core.config import TrainConfig
from core.drawings.hidden_map import NEIGHBOURS, HiddenMap, principal_axes
from core.drawings.inference import Classifier


def classifier(units: int = 16, seed: int = 0) -> Classifier:
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, 0.05, (784, units)),
        rng.normal(0, 0.1, units),
        rng.normal(0, 0.3, (units, 10)),
        np.zeros(10),
    ]
    return Classifier(TrainConfig(hidden_layers=(units,)), weights)


def digits(count: int = 300, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.random((count, 28, 28), dtype=np.float32), rng.integers(0, 10, count)


def test_principal_axes_are_a_full_decompositions_first_two():
    rng = np.random.default_rng(0)
    data = (
        rng.standard_normal((400, 60)) @ np.diag(np.linspace(6, 0.1, 60)) @ np.linalg.qr(rng.normal(size=(60, 60)))[0]
    )
    data -= data.mean(axis=0)
    axes = principal_axes(data)
    exact = np.linalg.svd(data, full_matrices=False)[2][:2]
    np.testing.assert_allclose(np.abs((axes * exact).sum(axis=1)), 1, atol=1e-6)  # the same lines, either sign
    np.testing.assert_allclose(axes, principal_axes(data))  # and the same signs every time


def test_the_map_places_each_digit_where_its_activations_project():
    model, (images, labels) = classifier(), digits()
    hidden_map = HiddenMap.fit(model, images, labels)
    assert hidden_map.points.shape == (300, 2)
    np.testing.assert_allclose(hidden_map.points.mean(axis=0), 0, atol=1e-9)  # centred
    assert 1 >= hidden_map.explained[0] >= hidden_map.explained[1] > 0
    activations = model.classify(images[7]).activations[-1]
    np.testing.assert_allclose(hidden_map.project(activations), hidden_map.points[7], atol=1e-6)


def test_neighbours_count_the_digits_nearest_on_the_map():
    hidden_map = HiddenMap.fit(classifier(), *digits())
    point = hidden_map.points[0]
    neighbours = hidden_map.neighbours(point)
    assert sum(count for _, count in neighbours) == NEIGHBOURS
    assert [count for _, count in neighbours] == sorted((count for _, count in neighbours), reverse=True)
    nearest = np.argsort(((hidden_map.points - point) ** 2).sum(axis=1))[:NEIGHBOURS]
    assert dict(neighbours) == {
        int(d): int((hidden_map.labels[nearest] == d).sum()) for d in set(hidden_map.labels[nearest])
    }


def test_a_diverged_model_still_gets_a_map():
    model = classifier()
    model.kernels[0][:] = np.nan
    hidden_map = HiddenMap.fit(model, *digits(50))
    assert np.isfinite(hidden_map.points).all()
    assert np.isfinite(hidden_map.project(np.full(16, np.nan))).all()
