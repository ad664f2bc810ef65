"""Run a function that needs TensorFlow in a short-lived child process, so the app's own process never imports it.

The app's server reads drawings with numpy (core.drawings.inference) and trains in worker
processes (core.training.worker). The little TensorFlow work left on a page (writing an
imported model as a `.keras` file, showing what augmentation does) runs here
instead: once TensorFlow is in the server, Streamlit clears its Keras session
after every rerun of every page (a full garbage collection each time), and the
server's memory grows by the whole runtime.

    result = run_isolated("core.training.model", "save_model_file", config_dict, weights, path)

Arguments and the result travel pickled between this project's own processes
(never anything a stranger sent as bytes: an upload is checked and turned into
arrays first).
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys

from core.config import PROJECT_ROOT

TIMEOUT_SECONDS = 300


class IsolatedError(RuntimeError):
    """The child process failed; the message holds the last line it printed."""


def run_isolated(module: str, function: str, *args, timeout: float = TIMEOUT_SECONDS, **kwargs):
    """`module.function(*args, **kwargs)` in a fresh Python process, given `timeout` seconds; returns its result."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    done = subprocess.run(
        [sys.executable, "-m", "core.training.isolated"],
        input=pickle.dumps((module, function, args, kwargs)),
        capture_output=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=timeout,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        raise IsolatedError(lines[-1] if lines else f"the child process exited with {done.returncode}")
    return pickle.loads(done.stdout)


def main() -> int:
    module, function, args, kwargs = pickle.loads(sys.stdin.buffer.read())
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever TensorFlow prints stays out of the result
    result = getattr(importlib.import_module(module), function)(*args, **kwargs)
    out.write(pickle.dumps(result))
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
