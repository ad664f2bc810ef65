"""How a training uses the machine: steps per execution and TensorFlow's threads.

Per step, `model.fit` pays a fixed cost in Python and TensorFlow (a function
call, the callbacks, the metrics) that dwarfs the arithmetic of a small MLP:
the default network's epoch took 2.2x its matrix-multiply bound with one step
per call (bench/matmul_bound.py). Running several steps per call cuts that cost,
but the Train page then hears of batches less often and Stop waits for the
call to end. So the steps per call are chosen to take about UPDATE_SECONDS:
the page still gets about four updates a second and Stop acts within a
fraction of a second, whatever the network's size.
"""

from __future__ import annotations

import os

from core.config import TrainConfig
from core.model import count_parameters

UPDATE_SECONDS = 0.2  # one batch update to the page (and one chance to stop) about this often
MAX_STEPS_PER_EXECUTION = 32
# Training FLOPs this machine's CPU sustains on an MLP step, conservatively: an estimate, not a promise.
# A faster machine gets fewer steps per call than it could take, never fewer updates than intended.
ASSUMED_FLOPS_PER_SECOND = 60e9


def steps_per_execution(config: TrainConfig, steps_per_epoch: int) -> int:
    """Steps per `fit` call for this network: about UPDATE_SECONDS of work, and several calls per epoch.

    A training step costs about 6 FLOPs per parameter per image (forward 2, backward 4).
    """
    step_seconds = 6 * count_parameters(config) * config.batch_size / ASSUMED_FLOPS_PER_SECOND
    steps = int(UPDATE_SECONDS / max(step_seconds, 1e-9))
    return max(1, min(steps, MAX_STEPS_PER_EXECUTION, steps_per_epoch // 4))


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def limit_threads(cores: int) -> None:
    """Give TensorFlow's pools `cores` threads, before it runs anything.

    Left alone, every training sizes its pools for the whole machine, so two at once would run
    twice as many busy threads as cores and slow each other down by more than half.
    """
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(cores)
    tf.config.threading.set_inter_op_parallelism_threads(min(cores, 2))
