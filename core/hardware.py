"""Does this machine have 16-bit matrix units that make fast mode worth it?"""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
