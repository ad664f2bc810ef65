"""Which 20 validation digits should "Its guesses on 20 digits" show? Ones that stay hard after the first epoch.

Digits drawn at random are almost all easy: the default network reads every one of them right after its first
epoch, and the panel has nothing left to show. This picks, for each digit, one ordinary validation digit (at
random, as before) and one that networks get wrong early but right once trained: among the last 1,000 MNIST
training images (in every run's validation set, whatever its size), those the default network reads right after
FINAL_EPOCHS epochs with most selection seeds, the one the most of those seeds read wrong after epoch 1 (ties:
the one they gave the least probability for its true digit).

Chosen with some seeds, checked with others: prints the indices to keep in core/runs/snapshots.py
(GUESS_DIGITS) and how many of the 20 the default network reads right after each epoch with the checking
seeds, for the new choice and the old one.

    python -m bench.guess_digits [--select-seeds 0 1 2] [--check-seeds 3 4]
"""

from __future__ import annotations

import argparse

import numpy as np

from core.config import NUM_CLASSES, TrainConfig
from core.training.data import bundled_mnist, split_mnist, to_float

POOL = 1_000  # the last POOL training images: the smallest validation set the app allows
FINAL_EPOCHS = 5


def random_digits(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of `per_class` digits of each class drawn at random: 0, 0, 1, 1, ... 9, 9 (how the panel's digits
    were chosen before)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(NUM_CLASSES):
        where = np.flatnonzero(np.asarray(labels) == digit)
        chosen += sorted(rng.choice(where, size=min(per_class, len(where)), replace=False).tolist())
    return np.asarray(chosen, dtype=np.int64)


def _readings(seed: int, images: np.ndarray, splits) -> list[np.ndarray]:
    """The default network's probabilities for `images` after each of FINAL_EPOCHS epochs, trained as the app
    does (on the default split's training images)."""
    import keras

    from core.training.model import build_model

    keras.utils.set_random_seed(seed)
    config = TrainConfig(seed=seed)
    model = build_model(config)
    out = []
    for _ in range(FINAL_EPOCHS):
        model.fit(splits.x_train, splits.y_train, batch_size=config.batch_size, epochs=1, verbose=0)
        out.append(np.asarray(model.predict(images, batch_size=1000, verbose=0)))
    return out


def choose(select_seeds: list[int]) -> tuple[int, ...]:
    """MNIST training-set indices of 20 digits: an ordinary one and a hard one of each digit, 0 to 9."""
    data = bundled_mnist()
    splits = split_mnist(data)
    start = len(data["x_train"]) - POOL
    pool_x, pool_y = splits.x_val[-POOL:], data["y_train"][start:]
    runs = [_readings(seed, pool_x, splits) for seed in select_seeds]
    first = np.stack([run[0] for run in runs])  # seeds, pool, 10
    final = np.stack([run[-1] for run in runs])
    wrong_early = (first.argmax(axis=2) != pool_y).sum(axis=0)
    true_early = first[:, np.arange(POOL), pool_y].mean(axis=0)
    learned = (final.argmax(axis=2) == pool_y).sum(axis=0) * 2 > len(select_seeds)  # most seeds read it right
    ordinary = random_digits(pool_y, per_class=1)
    chosen = []
    for digit in range(NUM_CLASSES):
        candidates = np.flatnonzero((pool_y == digit) & learned)
        candidates = candidates[candidates != ordinary[digit]]
        hard = candidates[np.lexsort((true_early[candidates], -wrong_early[candidates]))[0]]
        chosen += [start + int(ordinary[digit]), start + int(hard)]
    return tuple(chosen)


def check(choices: dict[str, tuple[int, ...]], seeds: list[int]) -> dict[str, list[list[int]]]:
    """For each choice of MNIST training digits, how many the default network reads right after each epoch, per
    seed (one training per seed reads them all)."""
    data = bundled_mnist()
    splits = split_mnist(data)
    every = [i for indices in choices.values() for i in indices]
    images, labels = to_float(data["x_train"][every]), data["y_train"][every]
    counts = {name: [] for name in choices}
    for seed in seeds:
        runs = _readings(seed, images, splits)
        start = 0
        for name, indices in choices.items():
            part = slice(start, start + len(indices))
            counts[name].append([int((run[part].argmax(axis=1) == labels[part]).sum()) for run in runs])
            start += len(indices)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--select-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--check-seeds", type=int, nargs="+", default=[3, 4])
    args = parser.parse_args()
    chosen = choose(args.select_seeds)
    print(f"GUESS_DIGITS = {chosen}", flush=True)
    data = bundled_mnist()
    cut = len(data["x_train"]) - TrainConfig().validation_size
    old = tuple(cut + int(i) for i in random_digits(data["y_train"][cut:], per_class=2))
    counts = check({"new": chosen, "old (2 at random of each digit)": old}, args.check_seeds)
    for name, per_seed in counts.items():
        for seed, right in zip(args.check_seeds, per_seed):
            print(f"{name}, seed {seed}: right after epochs 1-{FINAL_EPOCHS}: {right} of 20")


if __name__ == "__main__":
    main()
