"""Polling helper shared by the tests that watch a background job or process."""

import time


def wait_until(predicate, timeout: float = 60.0) -> bool:
    """True as soon as `predicate()` is true; False if `timeout` seconds pass first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
