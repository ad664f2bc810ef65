"""Files written whole or not at all, and OS errors told in words a learner can act on."""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=1).encode())


def file_in_the_way(path: Path) -> Path | None:
    """The first existing part of `path` that is a file, where a folder is needed; else None."""
    for part in reversed((path, *path.parents)):
        if part.exists() or part.is_symlink():
            if not part.is_dir():
                return part
        else:
            return None
    return None


def explain_os_error(error: OSError, path: Path | str | None = None) -> str:
    """What went wrong with a path, in words a learner can act on (no full stop at the end).

    `path` (say, the store's folder) is named instead of the file the error is about (say, a
    temporary file in it), when given.
    """
    where = Path(path) if path else Path(error.filename) if error.filename else None
    at = f" ({where})" if where else ""
    code, reason = error.errno, error.strerror or str(error)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"{reason}{at}. Free some disk space and try again"
    if code == errno.EROFS:
        return f"{where or 'it'} is on a read-only disk ({reason})"
    if code in (errno.EACCES, errno.EPERM):
        return f"you are not allowed to write to {where or 'it'} ({reason})"
    if code == errno.ENOTDIR and where is not None:
        blocker = file_in_the_way(where)
        if blocker is not None and blocker != where:
            return f"{blocker} is a file, so {where} cannot be a folder under it"
        return f"{where} is a file, not a folder"
    if code == errno.EEXIST:
        return f"{where or 'it'} already exists" + (" and is not a folder" if where and not where.is_dir() else "")
    if code == errno.EISDIR:
        return f"{where or 'it'} is a folder, where a file was expected"
    if code == errno.ENOENT:
        return f"{where or 'it'} does not exist, and cannot be made there ({reason})"
    return f"{reason}{at}"
