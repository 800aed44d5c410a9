"""Benchmark: wall-clock time of the whole ``tlsmodel check`` (startup included), several runs.

Run: ``.venv/bin/python bench/bench_check.py [RUNS] [-- EXTRA CHECK ARGS]``. Prints numbers,
asserts nothing. Each run is a fresh subprocess (``python -m tlsmodel check``), so interpreter
start, imports and the worker pool are all counted; CPU time of the process and its workers
comes from ``resource.getrusage(RUSAGE_CHILDREN)``. If ``check`` is not yet registered in
``tlsmodel.cli`` the script calls ``tlsmodel.proofs.cli`` directly (same work, same startup).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time

DIRECT = (
    "import argparse, sys; from tlsmodel.proofs import cli; p = argparse.ArgumentParser(); "
    "cli.register(p.add_subparsers()); a = p.parse_args(['check', *sys.argv[1:]]); "
    "sys.exit(a.func(a))"
)


def _command(extra: list[str]) -> list[str]:
    probe = subprocess.run(
        [sys.executable, "-m", "tlsmodel", "check", "--help"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "tlsmodel", "check", *extra]
    return [sys.executable, "-c", DIRECT, *extra]


def main() -> None:
    args = sys.argv[1:]
    extra = args[args.index("--") + 1 :] if "--" in args else []
    runs = int(args[0]) if args and args[0] != "--" else 5
    command = _command(extra)
    walls, cpus = [], []
    for i in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, timeout=600, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {i + 1}: wall {wall:.2f}s  cpu {cpu:.2f}s  exit {done.returncode}")
    print(
        f"tlsmodel check {' '.join(extra)}: wall min {min(walls):.2f}s "
        f"median {statistics.median(walls):.2f}s max {max(walls):.2f}s; "
        f"cpu median {statistics.median(cpus):.2f}s over {runs} runs"
    )


if __name__ == "__main__":
    main()
