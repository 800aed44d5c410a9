"""Speed of the model side: the streaming checker and ``tlsmodel oracle`` on JSON Lines.

Targets (issue 2 / issue 5): streaming checker ≥ 1 M messages/s; ``tlsmodel oracle`` on JSONL
≥ 500 k messages/s (whole command: start-up, parsing, checking, report). Prints a table; no
asserts. Run: ``./run bench`` or ``python bench/bench_model.py [--traces N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tlsmodel.model.checker import Checker
from tlsmodel.model.generate import Generator, Restriction
from tlsmodel.model.trace import Trace, dump, message_key


def corpus() -> list[list[dict]]:
    """Every legal handshake of ≤ 16 messages, each also with data and close_notify after it,
    and each with its fourth message skipped (a deviation)."""
    legal = list(Generator(Restriction(max_len=16)).traces())
    tail = [
        {"from": "client", "type": "ApplicationData"},
        {"from": "server", "type": "ApplicationData"},
        {"from": "client", "type": "Alert", "level": "warning", "description": "close_notify"},
    ]
    deviating = [t[:3] + t[4:] for t in legal if len(t) > 4]
    return legal + [t + tail for t in legal] + deviating


def bench_streaming(traces: list[list[dict]], seconds: float = 2.0) -> float:
    keys = [[message_key(m) for m in t] for t in traces]
    total = sum(map(len, keys))
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for trace in keys:
            feed = Checker().feed
            for key in trace:
                feed(key)
        done += total
    return done / (time.perf_counter() - start)


def bench_oracle(traces: list[list[dict]], count: int, json_out: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.jsonl"
        messages = 0
        with path.open("w") as out:
            for i in range(count):
                trace = traces[i % len(traces)]
                messages += len(trace)
                out.write(dump(Trace(f"c{i}", trace)) + "\n")
        argv = [sys.executable, "-m", "tlsmodel", "oracle", str(path)]
        if json_out:
            argv.append("--json")
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return messages, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000, help="connections in the file")
    args = parser.parse_args()
    traces = corpus()
    rate = bench_streaming(traces)
    print(f"{'benchmark':44} {'result':>16} {'target':>12}")
    print(f"{'streaming checker (prebuilt keys)':44} {rate / 1e6:13.2f} M/s {'≥ 1 M/s':>12}")
    for json_out in (False, True):
        messages, seconds = bench_oracle(traces, args.traces, json_out)
        label = f"tlsmodel oracle {'--json ' if json_out else ''}({messages:,} messages)"
        print(
            f"{label:44} {messages / seconds / 1e3:13.0f} k/s {'≥ 500 k/s':>12}"
            f"   ({seconds:.2f} s wall)"
        )


if __name__ == "__main__":
    main()
