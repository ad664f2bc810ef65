"""Hundreds of damaged and hostile .keras files: each one is accepted or refused with ModelImportError.

Seeded mutations of a real export (bit flips, truncations, zip members swapped, duplicated, renamed
or removed, JSON values and types changed, HDF5 datasets and attributes altered) and the hostile
files of test_importing.py are written to a folder; a child process reads each with `read_model`
under a 1 GiB address-space limit (the reading path imports no TensorFlow, so this is possible) and
reports, per file, the outcome and the time. The test fails on any other exception, a crash, a case
over its time, or a change to the decoy folder the hostile files point at (a read moves its access time).
"""

import json
import os
import re
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_importing import (
    RawEntry,
    hostile_files,
    members,
    raw_zip,
    rezip,
    secret_files,
    with_weights,
)

from core.config import TrainConfig
from core.training.model import build_model

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261129
MUTATIONS = 400
MEMORY_LIMIT = 2**30  # bytes of address space for the child: numpy and h5py need about 400 MB of it
CASE_SECONDS = 3.0  # the largest legitimate model reads in a few seconds; these files are 300 KB
TOTAL_SECONDS = 120

CHILD = r"""
import faulthandler, json, os, resource, sys, time


def peak_mb():  # VmHWM, not ru_maxrss: that one starts at the forking parent's size (pytest with TensorFlow)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from core.keras_file.errors import ModelImportError
from core.keras_file.reading import read_model

folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    print(json.dumps({"start": name}), flush=True)
    faulthandler.dump_traceback_later(float(sys.argv[3]), exit=True)  # a hang ends the child, naming the case
    started = time.perf_counter()
    try:
        archive = read_model(data)
        outcome, detail = "accepted", [list(w.shape) for w in archive.weights]
    except ModelImportError as error:
        outcome, detail = "refused", str(error)
    except BaseException as error:  # what this test is looking for
        outcome, detail = "error", f"{type(error).__name__}: {error}"[:500]
    seconds = time.perf_counter() - started
    faulthandler.cancel_dump_traceback_later()
    record = {"case": name, "outcome": outcome, "seconds": seconds, "peak_mb": peak_mb(), "detail": detail}
    print(json.dumps(record), flush=True)
print(json.dumps({"done": True, "peak_mb": peak_mb(), "tensorflow": "tensorflow" in sys.modules}), flush=True)
"""


# --- mutations -----------------------------------------------------------------------------------


def flip_bits(blob: bytes, rng, start: int = 0, end: int | None = None) -> bytes:
    data = bytearray(blob)
    end = len(data) if end is None else end
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(start, end))] ^= 1 << int(rng.integers(8))
    return bytes(data)


H5_SIGNATURES = re.compile(rb"TREE|HEAP|SNOD|OHDR|GCOL|BTHD|BTLF|BTIN|FRHP|FHDB|FHIB|FSHD|FSSE|OCHK")


def h5_bytes(files: dict[str, bytes], rng) -> dict[str, bytes]:
    """Bytes changed inside the weights file, mostly in its structures (B-trees, heaps, object headers) or
    superblock, where the HDF5 library parses, with a valid CRC around it so the zip check lets it through."""
    weights = bytearray(files["model.weights.h5"])
    structures = [m.start() for m in H5_SIGNATURES.finditer(weights)]
    where = rng.random()
    for _ in range(int(rng.integers(1, 5))):
        if where < 0.6 and structures:
            start = structures[int(rng.integers(len(structures)))]
            position = start + int(rng.integers(0, 160))
        else:
            position = int(rng.integers(0, 2048 if where < 0.85 else len(weights)))
        weights[min(position, len(weights) - 1)] = int(rng.integers(256))
    return {**files, "model.weights.h5": bytes(weights)}


def h5_truncated(files: dict[str, bytes], rng) -> dict[str, bytes]:
    weights = files["model.weights.h5"]
    return {**files, "model.weights.h5": weights[: int(rng.integers(0, len(weights)))]}


def config_bytes(files: dict[str, bytes], rng) -> dict[str, bytes]:
    return {**files, "config.json": flip_bits(files["config.json"], rng)}


JSON_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    28,
    10,
    4097,
    2**63,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    "",
    "x",
    "Dense",
    "softmax",
    "relu",
    [],
    {},
    [None, 28, 28],
    {"class_name": "Dense"},
    [[[[[]]]]],
    "é" * 100,
]


def json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*path, index))


def json_edit(files: dict[str, bytes], rng) -> dict[str, bytes]:
    """One value anywhere in config.json replaced, removed, or a key added, as valid JSON."""
    config = json.loads(files["config.json"])
    paths = [p for p in json_paths(config) if p]
    path = paths[int(rng.integers(len(paths)))]
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.7:
        parent[path[-1]] = JSON_VALUES[int(rng.integers(len(JSON_VALUES)))]
    elif action < 0.85:
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent["extra"] = JSON_VALUES[int(rng.integers(len(JSON_VALUES)))]
    else:
        parent.insert(int(rng.integers(len(parent) + 1)), parent[path[-1]])  # a layer or a value twice
    return {**files, "config.json": json.dumps(config).encode()}


def number_edit(files: dict[str, bytes], rng) -> dict[str, bytes]:
    """A plausible change: units, rate, activation or the input shape of one layer."""
    config = json.loads(files["config.json"])
    layers = config["config"]["layers"]
    layer = layers[int(rng.integers(len(layers)))]["config"]
    key, value = [
        ("units", int(rng.integers(-2, 5000))),
        ("rate", float(rng.uniform(-0.5, 1.5))),
        ("activation", ["relu", "tanh", "linear", "softmax", "swish"][int(rng.integers(5))]),
        ("batch_shape", [None, int(rng.integers(20, 36)), 28]),
        ("use_bias", bool(rng.integers(2))),
    ][int(rng.integers(5))]
    layer[key] = value
    return {**files, "config.json": json.dumps(config).encode()}


def archive_edit(files: dict[str, bytes], rng) -> dict[str, bytes] | bytes:
    """Members swapped, duplicated, renamed, removed, added or compressed differently."""
    names = list(files)
    action = int(rng.integers(7))
    if action == 0:
        return {**files, "config.json": files["model.weights.h5"], "model.weights.h5": files["config.json"]}
    if action == 1:
        name = names[int(rng.integers(len(names)))]
        entries = [RawEntry(n, c, len(c), crc=zlib.crc32(c)) for n, c in [*files.items(), (name, files[name])]]
        return raw_zip(entries)
    if action == 2:
        name = names[int(rng.integers(len(names)))]
        renamed = {("x/" + n if n == name else n): c for n, c in files.items()}
        return renamed
    if action == 3:
        return {n: c for n, c in files.items() if n != names[int(rng.integers(len(names)))]}
    if action == 4:
        return {**files, "assets/extra.bin": rng.bytes(int(rng.integers(0, 5000)))}
    if action == 5:
        return rezip(files, method=zipfile.ZIP_DEFLATED)
    name = names[int(rng.integers(len(names)))]
    entries = []
    for n, content in files.items():
        entry = RawEntry(n, content, len(content), crc=zlib.crc32(content))
        if n == name:
            field = ["size", "crc", "method", "flags"][int(rng.integers(4))]
            entry.size = entry.size + int(rng.integers(-100, 100)) if field == "size" else entry.size
            entry.crc = int(rng.integers(2**32)) if field == "crc" else entry.crc
            entry.method = [0, 8, 12, 14, 99, 9][int(rng.integers(6))] if field == "method" else entry.method
            entry.flags = int(rng.integers(2**16)) if field == "flags" else entry.flags
        entries.append(entry)
    return raw_zip(entries)


def dataset_paths(h5) -> list[str]:
    found = []
    h5.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
    return sorted(found)


def h5_edit(decoy: dict[str, Path]):
    """A change to one dataset, attribute, group or link of the weights file, picked by `rng`."""

    def edit(files: dict[str, bytes], rng) -> bytes:
        def change(h5):
            paths = dataset_paths(h5)
            path = paths[int(rng.integers(len(paths)))]
            shape = h5[path].shape
            action = int(rng.integers(9))
            if action == 0:  # another dtype
                dtype = ["f2", ">f4", "f8", "i4", "u1", "S4", "bool", "c8", h5py.string_dtype()][int(rng.integers(9))]
                values = np.zeros(shape, dtype=dtype) if dtype != h5py.string_dtype() else np.array("x", dtype=object)
                del h5[path]
                h5.create_dataset(path, data=values)
            elif action == 1:  # another shape, declared or written
                shape = tuple(int(s) for s in rng.integers(0, 1000, size=int(rng.integers(0, 4))))
                del h5[path]
                h5.create_dataset(path, shape=shape, dtype="f4")
            elif action == 2:  # values: NaN, infinity, huge
                values = h5[path][()].astype("f4")
                values[...] = [np.nan, np.inf, 3e38, 0.0][int(rng.integers(4))]
                h5[path][...] = values
            elif action == 3:  # chunks and filters, some this importer reads and some not
                values = h5[path][()]
                options = [
                    dict(compression="gzip"),
                    dict(shuffle=True),
                    dict(fletcher32=True),
                    dict(compression="lzf"),
                    dict(scaleoffset=2),
                    dict(chunks=True, maxshape=(None,) * len(shape)),
                ]
                del h5[path]
                h5.create_dataset(path, data=values, **(options[int(rng.integers(len(options)))] if shape else {}))
            elif action == 4:  # attributes
                target = h5[path] if rng.random() < 0.5 else h5[path].parent
                target.attrs[["name", "junk", "dtype"][int(rng.integers(3))]] = [np.zeros(1000), "x", 7][
                    int(rng.integers(3))
                ]
            elif action == 5:  # removed, or its group removed
                del h5[path if rng.random() < 0.5 else path.rsplit("/", 1)[0]]
            elif action == 6:  # links to the decoy folder or within the file
                del h5[path]
                target = decoy["secret_h5"]
                h5[path] = h5py.ExternalLink(str(target), "/data") if rng.random() < 0.5 else h5py.SoftLink("/layers")
            elif action == 7:  # storage in the decoy folder
                size = int(np.prod(shape)) * 4
                target = decoy["secret"] if rng.random() < 0.8 else decoy["fifo"]
                del h5[path]
                h5.create_dataset(path, shape=shape, dtype="f4", external=[(str(target), 0, max(size, 1))])
            else:  # groups renamed or added
                group = path.rsplit("/", 2)[0]
                h5.move(group, group + "_9") if rng.random() < 0.5 else h5.create_group(
                    f"layers/dense_{rng.integers(3, 20)}"
                )

        return members(with_weights(rezip(files), change))

    return edit


def truncated(data: bytes, rng) -> bytes:
    return data[: int(rng.integers(0, len(data)))]


def padded(data: bytes, rng) -> bytes:
    junk = rng.bytes(int(rng.integers(1, 3000)))
    return junk + data if rng.random() < 0.5 else data + junk


def mutations(data: bytes, decoy: dict[str, Path], count: int) -> dict[str, bytes]:
    """`count` seeded mutations of `data`, named by number and kind."""
    on_files = {
        "h5-bytes": h5_bytes,
        "h5-truncated": h5_truncated,
        "config-bytes": config_bytes,
        "json": json_edit,
        "numbers": number_edit,
        "archive": archive_edit,
        "h5": h5_edit(decoy),
    }
    on_bytes = {"bit-flips": flip_bits, "truncated": truncated, "padded": padded}
    kinds = ["h5-bytes"] * 3 + list(on_files) + list(on_bytes)  # the HDF5 library's parser is the widest surface
    files, cases = members(data), {}
    for number in range(count):
        rng = np.random.default_rng([SEED, number])
        kind = kinds[number % len(kinds)]
        if kind in on_bytes:
            cases[f"{number:03d}-{kind}"] = on_bytes[kind](data, rng)
            continue
        for _ in range(10):  # some random h5py edits are impossible (a filter on a scalar): draw again
            try:
                changed = on_files[kind](files, rng)
                break
            except (ValueError, TypeError, OSError, KeyError) as error:
                failure = error
        else:
            raise AssertionError(f"no {kind} mutation could be built: {failure}")
        cases[f"{number:03d}-{kind}"] = changed if isinstance(changed, bytes) else rezip(changed)
    return cases


# --- the test ------------------------------------------------------------------------------------


def folder_state(folder: Path) -> dict[str, tuple]:
    """Every file's size, modification and access time: any read or write changes one."""
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns, p.lstat().st_atime_ns)
        for p in sorted(folder.rglob("*"))
    }


def age_access_times(folder: Path) -> None:
    """Access times older than modification times, so the next read updates them (relatime)."""
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            os.utime(path, (stat.st_mtime - 3600, stat.st_mtime))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> bytes:
    """The (32, 16) model trained one step with Adam, so the file also holds optimizer state."""
    model = build_model(TrainConfig(hidden_layers=(32, 16), dropout=0.3, activation="tanh", optimizer="adam"))
    model.fit(np.random.default_rng(0).random((64, 28, 28), dtype=np.float32), np.arange(64) % 10, verbose=0)
    path = tmp_path_factory.mktemp("fuzz-export") / "model.keras"
    model.save(path)
    return path.read_bytes()


def test_every_mutated_or_hostile_file_is_accepted_or_refused_cleanly(export, tmp_path):
    decoy_folder, cases_folder, store = tmp_path / "server", tmp_path / "cases", tmp_path / "store"
    decoy = secret_files(decoy_folder)
    cases = {
        **mutations(export, decoy, MUTATIONS),
        **{f"hostile {k}": v for k, v in hostile_files(export, decoy_folder).items()},
    }
    cases_folder.mkdir()
    store.mkdir()
    for index, (_name, blob) in enumerate(cases.items()):
        (cases_folder / f"{index:04d}").write_bytes(blob)
    names = {f"{index:04d}": name for index, name in enumerate(cases)}
    age_access_times(decoy_folder)
    before = folder_state(decoy_folder)

    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", CHILD, str(cases_folder), str(MEMORY_LIMIT), str(CASE_SECONDS * 3)]
    run = subprocess.run(command, cwd=store, env=env, capture_output=True, text=True, timeout=TOTAL_SECONDS)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    results = {line["case"]: line for line in lines if "case" in line}
    started = [line["start"] for line in lines if "start" in line]

    unfinished = [names[n] for n in started if n not in results]
    assert run.returncode == 0 and not unfinished, f"crashed or hung on {unfinished}: {run.stderr[-3000:]}"
    assert len(results) == len(cases)
    errors = {names[n]: r["detail"] for n, r in results.items() if r["outcome"] == "error"}
    assert not errors, errors
    slow = {names[n]: round(r["seconds"], 2) for n, r in results.items() if r["seconds"] > CASE_SECONDS}
    assert not slow, slow
    hostile_accepted = [
        names[n] for n, r in results.items() if names[n].startswith("hostile") and r["outcome"] != "refused"
    ]
    assert not hostile_accepted
    assert folder_state(decoy_folder) == before, "a file outside the upload was read or written"
    assert list(store.iterdir()) == []
    summary = lines[-1]
    assert summary.get("done") and not summary["tensorflow"]
    outcomes = [r["outcome"] for r in results.values()]
    ordered = [results[n] for n in sorted(results)]
    rises = sorted((b["peak_mb"] - a["peak_mb"], names[b["case"]]) for a, b in zip(ordered, ordered[1:]))
    print("largest rises of the child's peak memory (MB):", [(round(mb, 1), name) for mb, name in rises[-3:]])
    print(
        f"{len(cases)} cases: {outcomes.count('accepted')} accepted, {outcomes.count('refused')} refused; "
        f"slowest {max(r['seconds'] for r in results.values()):.3f} s; child peak {summary['peak_mb']:.0f} MB"
    )
