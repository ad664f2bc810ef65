"""The engine's feed: every image once an epoch, a new order each epoch, the same orders for the same seed."""

import numpy as np

from core.throughput import epoch_batches


def epochs_of(dataset, count: int) -> list[list[np.ndarray]]:
    # Keras makes one pass over the dataset per epoch, as here.
    return [[(x.numpy(), y.numpy()) for x, y in dataset] for _ in range(count)]


def test_each_epoch_is_the_whole_set_once_in_batches_with_a_short_last_one():
    x = np.arange(250, dtype="float32").reshape(250, 1, 1) * np.ones((1, 2, 2), "float32")
    y = np.arange(250) % 10
    for batches in epochs_of(epoch_batches(x, y, batch_size=100, seed=1), 3):
        assert [len(bx) for bx, _ in batches] == [100, 100, 50]
        images = np.concatenate([bx[:, 0, 0] for bx, _ in batches]).astype(int)
        assert sorted(images) == list(range(250))
        labels = np.concatenate([by for _, by in batches])
        assert list(labels) == list(images % 10)  # each label stays with its image


def test_orders_change_between_epochs_and_follow_the_seed():
    x, y = np.arange(300, dtype="float32").reshape(300, 1), np.zeros(300, "int64")

    def orders(seed):
        return [np.concatenate([bx[:, 0] for bx, _ in epoch]) for epoch in epochs_of(epoch_batches(x, y, 64, seed), 3)]

    first, again, other = orders(5), orders(5), orders(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], np.arange(300))
