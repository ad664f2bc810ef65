import hashlib

import numpy as np
import pytest

from core.training import data
from core.training.data import DatasetError, load_mnist, split_mnist


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_bundled_file_is_the_published_mnist(mnist):
    assert data.file_sha256(data.BUNDLED_PATH) == data.BUNDLED_SHA256
    assert mnist["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist["y_test"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert hashlib.sha256(mnist["x_test"].tobytes()).hexdigest()[:16] == "6d87418db22cc802"
    assert np.bincount(mnist["y_test"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_split_keeps_test_set_apart_and_validation_at_the_end(mnist):
    splits = split_mnist(mnist, validation_size=5_000)
    assert len(splits.x_train) == 55_000 and len(splits.x_val) == 5_000 and len(splits.x_test) == 10_000
    # validation is the last 5,000 training images, train is everything before: no overlap by construction
    np.testing.assert_array_equal(splits.x_val * 255, mnist["x_train"][-5_000:].astype(np.float32))
    np.testing.assert_array_equal(splits.y_train, mnist["y_train"][:55_000])
    # the held-out test set is exactly MNIST's test set, never mixed into train or validation
    np.testing.assert_array_equal(splits.y_test, mnist["y_test"])
    train_rows = {row.tobytes() for row in mnist["x_train"][:55_000:97]}
    assert not any(row.tobytes() in train_rows for row in (splits.x_val[::50] * 255).astype(np.uint8))


def test_split_normalises_to_float32_unit_range(mnist):
    splits = split_mnist(mnist, train_limit=500)
    assert splits.x_train.dtype == np.float32 and splits.x_train.shape == (500, 28, 28)
    assert splits.x_train.min() == 0.0 and splits.x_train.max() == 1.0


def test_bad_validation_size_is_refused(mnist):
    with pytest.raises(ValueError, match="validation_size"):
        split_mnist(mnist, validation_size=0)


def test_foreign_or_damaged_file_is_refused(tmp_path, mnist):
    wrong_shape = tmp_path / "wrong.npz"
    np.savez(wrong_shape, **{**mnist, "x_test": mnist["x_test"][:100]})
    with pytest.raises(DatasetError, match="x_test"):
        load_mnist(wrong_shape)
    missing_key = tmp_path / "missing.npz"
    np.savez(missing_key, x_train=mnist["x_train"])
    with pytest.raises(DatasetError, match="y_train"):
        load_mnist(missing_key)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{**mnist, "y_test": np.array([object()] * 10_000)})
    with pytest.raises(ValueError):  # numpy refuses object arrays without allow_pickle
        load_mnist(pickled)


def test_missing_file_falls_back_to_keras_download(tmp_path, monkeypatch, mnist):
    import keras

    calls = []

    def fake_download():
        calls.append(1)
        return (mnist["x_train"], mnist["y_train"]), (mnist["x_test"], mnist["y_test"])

    monkeypatch.setattr(keras.datasets.mnist, "load_data", fake_download)
    arrays = load_mnist(tmp_path / "absent.npz")
    assert calls == [1]
    assert arrays["x_train"].shape == (60_000, 28, 28)
