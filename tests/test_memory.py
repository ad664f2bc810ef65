"""Ten trainings in one app process do not grow its memory: each trains in a worker that exits."""

import gc

from core.engine.jobs import JobManager


def resident_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def test_ten_trainings_in_a_row_release_their_memory(store, tiny_config, capsys):
    manager = JobManager(store)
    resident = []
    for i in range(10):
        job = manager.submit(tiny_config.replace(epochs=1, seed=i))
        assert job.wait(120) and job.status == "completed", job.error
        job.log.records()  # a page would have read it
        gc.collect()
        resident.append(resident_mb())
    with capsys.disabled():
        print(f"\nresident memory after each of 10 trainings (MB): {[round(r) for r in resident]}")
    assert resident[9] <= resident[1] * 1.15
