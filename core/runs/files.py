"""What may be in each file of a run: nothing read from disk is trusted.

A file that is not what this app writes raises `Damaged`, whose message says which file and what is wrong;
lines of the append-only logs torn by a crash, or of the wrong shape, are skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from core.runs.classroom import is_clean_name, is_owner
from core.config import ConfigError, TrainConfig, is_finite, is_int, is_lesson_id, is_real, optional
from core.runs.results import MetricsError, RunMetrics
from core.runs.processes import MAX_PID
from core.runs.states import SAVED_STATUSES

LATEST_TIME = 7_258_118_400.0  # 2200-01-01 in seconds since 1970: later "dates" are corrupt (and unplottable)


class Damaged(Exception):
    """A run's file is not what this app writes; the message says which file and what is wrong."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value) -> str:
    names = {dict: "a record", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def read_json(folder: Path, name: str, required: bool = True):
    """A JSON file's content; `Damaged` if it is missing (when required), unreadable or not JSON."""
    try:
        with open(folder / name, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        if required:
            raise Damaged(f"{name} is missing") from None
        return None
    except OSError as error:
        raise Damaged(f"{name} cannot be read ({error.strerror or error})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Damaged(f"{name} is not valid JSON (it may have been cut off while being written)") from None


def read_jsonl(path: Path, keep) -> list:
    """Every complete line that `keep` accepts; lines torn by a crash mid-append, or of the wrong shape, are skipped."""
    records = []
    try:
        with open(path, "rb") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if keep(record):
                    records.append(record)
    except FileNotFoundError:
        return []
    except OSError:
        return records  # unreadable: the curves are simply missing, the run itself is still usable
    return records


# --- what may be in each file ---------------------------------------------------------------


def is_time(value) -> bool:
    return is_finite(value) and 0 <= value <= LATEST_TIME


def _text(value) -> bool:
    return isinstance(value, str)


# Each field the app reads, what it must be, and how to say so. Missing optional fields are fine.
STATUS_FIELDS = {
    "status": (lambda v: v in SAVED_STATUSES, f"one of {', '.join(SAVED_STATUSES)}", True),
    "pid": (optional(lambda v: is_int(v) and 1 <= v <= MAX_PID), f"a process id from 1 to {MAX_PID:,}", False),
    "pid_start": (optional(lambda v: isinstance(v, str) and v.isdigit()), "a number as text", False),
    "created": (is_time, "a time between 1970 and 2200 in seconds", True),
    "started": (optional(is_time), "a time between 1970 and 2200 in seconds", False),
    "finished": (optional(is_time), "a time between 1970 and 2200 in seconds", False),
    "stop_reason": (optional(_text), "text", False),
    "error": (optional(_text), "text", False),
    "label": (_text, "text", False),
    "owner": (optional(is_owner), "64 hexadecimal digits (a SHA-256)", False),
    "owner_name": (is_clean_name, "a display name of at most 40 printable characters", False),
    "lesson": (optional(is_lesson_id), "a lesson id (8 hexadecimal digits)", False),
}


def _check_fields(name: str, data, rules: dict, what: str) -> dict:
    if not isinstance(data, dict):
        raise Damaged(f"{name} holds {_kind(data)}, not {what}")
    for field, (check, expected, required) in rules.items():
        if field not in data:
            if required:
                raise Damaged(f"{name} has no {field}")
        elif not check(data[field]):
            raise Damaged(f"{name}: {field} must be {expected} (got {_show(data[field])})")
    return data


def check_status(data) -> dict:
    return _check_fields("status.json", data, STATUS_FIELDS, "the run's status")


def check_metrics(data) -> RunMetrics:
    try:
        return RunMetrics.from_dict(data)
    except MetricsError as error:
        raise Damaged(str(error)) from None


def check_config(data) -> TrainConfig:
    if not isinstance(data, dict):
        raise Damaged(f"config.json holds {_kind(data)}, not the run's settings")
    try:
        return TrainConfig.from_dict(data)
    except ConfigError as error:
        raise Damaged(f"config.json: {error.message.rstrip('.')}") from None
    except (TypeError, ValueError) as error:
        raise Damaged(f"config.json: {error}") from None


def is_epoch_record(record) -> bool:
    """A history line the charts can draw: a finite epoch, and numbers (NaN too) for the metrics it has."""
    return (
        isinstance(record, dict)
        and is_finite(record.get("epoch"))
        and all(is_real(record[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in record)
    )


def is_batch_record(record) -> bool:
    return (
        isinstance(record, dict)
        and is_finite(record.get("epoch"))
        and is_real(record.get("loss"))
        and is_real(record.get("accuracy"))
    )


def is_batches_line(line) -> bool:
    return isinstance(line, list) and all(map(is_batch_record, line))


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder we may not look into: no usable file there
        return False
