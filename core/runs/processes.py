"""Which process owns a run, and whether it is still alive (Linux /proc), so a pid reused by another process
after a crash is never taken for the run's owner."""

from __future__ import annotations

import os

from core.config import is_int

MAX_PID = 4_194_304  # Linux's highest possible pid (2**22); 0 and negatives signal process groups


def _process_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (Linux), or None where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start_ticks(pid: int) -> str | None:
    """Start time of a process, so a reused pid is not mistaken for the owner."""
    fields = _process_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def this_process() -> dict:
    return {"pid": os.getpid(), "pid_start": _process_start_ticks(os.getpid())}


def owner_alive(status: dict) -> bool:
    """Whether the process recorded in a status is still running (and is the same process, not a reused pid)."""
    pid = status.get("pid")
    if not is_int(pid) or not 1 <= pid <= MAX_PID:
        return False  # os.kill(0, 0) would "find" our own process group
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _process_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return False  # exited, not yet reaped by its parent
    recorded = status.get("pid_start")
    return recorded is None or recorded == (fields[19] if fields and len(fields) > 19 else None)
