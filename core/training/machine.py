"""How a training uses the machine: its cores, TensorFlow's threads, steps per call, and 16-bit units.

Per step, `model.fit` pays a fixed cost in Python and TensorFlow (a function call, the callbacks, the
metrics) that dwarfs the arithmetic of a small MLP (bench/matmul_bound.py measures it). Running several
steps per call cuts that cost, but the Train page then hears of batches less often and Stop waits for
the call to end. So the steps per call are chosen to take about UPDATE_SECONDS: the page still gets
a few updates a second and Stop acts within a fraction of a second, whatever the network's size.

Fast mode computes the hidden layers in 16 bits where the machine has units for it (a GPU, or a CPU
with bfloat16 instructions); `describe_fast_mode` tells the form so without importing TensorFlow.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from core.config import TrainConfig, count_parameters

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


# --- fast mode -----------------------------------------------------------------------------------

_CPU_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}


@dataclass(frozen=True)
class FastModeSupport:
    available: bool
    policy: str | None  # Keras dtype policy for the hidden layers
    reason: str  # shown next to the switch


def _bfloat16_reason(units: list[str]) -> str:
    return f"This CPU has bfloat16 units ({', '.join(units)}): hidden layers compute in bfloat16."


def cpu_bfloat16_units() -> list[str]:
    """Names of the CPU's bfloat16 instruction sets (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []
    return [name for flag, name in _CPU_FLAGS.items() if flag in flags]


@functools.lru_cache(maxsize=1)
def fast_mode_support() -> FastModeSupport:
    """GPU: float16 with loss scaling. CPU with bfloat16 units: bfloat16. Otherwise float32 stays."""
    try:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return FastModeSupport(True, "mixed_float16", "GPU found: hidden layers compute in float16.")
    except ImportError:
        pass
    units = cpu_bfloat16_units()
    if units:
        return FastModeSupport(True, "mixed_bfloat16", _bfloat16_reason(units))
    return FastModeSupport(False, None, "No GPU and no bfloat16 units on this CPU: training stays in float32.")


def describe_fast_mode() -> str:
    """What fast mode would do here, without importing TensorFlow (for the form)."""
    units = cpu_bfloat16_units()
    if units:
        return _bfloat16_reason(units)
    return "Uses float16 on a GPU; this CPU has no bfloat16 units, so without a GPU training stays float32."
