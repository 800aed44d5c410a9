"""Time the pcap reader and the whole oracle against tshark alone on the same capture.

The issue's target: for a capture of >= 10,000 handshakes, the oracle's total time is at most
1.2x the time tshark alone takes to dissect the file. "tshark alone" is measured two ways:
the exact tshark command the reader runs (output thrown away) — the honest baseline, since the
difference is all our own work — and plain ``tshark -r FILE`` (its default summary output), for
reference, and the cheapest ``-T fields`` run (one field). Each figure is the best of
``--repeat`` runs, as wall-clock time and as CPU time (ours plus tshark's): on a shared machine
the CPU figure is the steadier one. Prints numbers; asserts nothing.

    python bench/bench_oracle_pcap.py [CAPTURE [KEYLOG]] [--repeat 3]

Without CAPTURE it first builds one with bench/make_pcap.py's defaults.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tlsmodel.oracle.inputs import load, load_traces
from tlsmodel.oracle.pcap import tshark_argv


def _cpu() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, float, Any]:
    """(best wall seconds, best CPU seconds, last result) over ``repeat`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _cpu()
        result = run()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return min(walls), min(cpus), result


def tshark(argv: list[str]) -> Callable[[], int]:
    return lambda: (
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    )


def reader(path: Path, keylog: Path | None) -> Callable[[], tuple[int, int]]:
    def run() -> tuple[int, int]:
        traces = messages = 0
        for trace in load_traces(path, keylog=keylog):
            traces += 1
            messages += len(getattr(trace, "messages", ()))
        return traces, messages

    return run


def oracle(path: Path, keylog: Path | None) -> Callable[[], dict[str, int]]:
    from tlsmodel.oracle.judge import judge_all

    def run() -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in judge_all(load(path, "pcap", keylog=keylog)):
            verdict = getattr(item, "verdict", "error")
            counts[verdict] = counts.get(verdict, 0) + 1
        return counts

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", type=Path, nargs="?")
    parser.add_argument("keylog", type=Path, nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--with-keys-only", action="store_true", help="skip the run without the key log"
    )
    args = parser.parse_args()
    if args.capture is None:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("make_pcap.py"))],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        args.capture = Path(fields["capture"].split(" (")[0].strip())
        args.keylog = Path(fields["keylog"].strip())
    size = args.capture.stat().st_size / 1e6
    print(f"capture {args.capture} ({size:.1f} MB), best of {args.repeat}")
    runs = [args.keylog] if args.keylog is not None else []
    if args.keylog is None or not args.with_keys_only:
        runs.append(None)
    for keylog in runs:
        label = "without key log" if keylog is None else f"with key log {keylog.name}"
        cheapest = ["tshark", "-r", str(args.capture), "-T", "fields", "-e", "frame.number"]
        plain = best(args.repeat, tshark(["tshark", "-r", str(args.capture)]))
        minimal = best(args.repeat, tshark(cheapest))
        same = best(args.repeat, tshark(tshark_argv(args.capture, keylog=keylog)))
        read = best(args.repeat, reader(args.capture, keylog))
        judged = best(args.repeat, oracle(args.capture, keylog))
        traces, messages = read[2]
        print(f"\n{label}: {traces} connections, {messages} messages, verdicts {judged[2]}")
        print(f"  {'':44s}{'wall s':>8s}{'ratio':>7s}{'cpu s':>8s}{'ratio':>7s}")
        for name, (wall, cpu, _) in (
            ("tshark -r FILE (summary lines)", plain),
            ("tshark -r FILE -T fields -e frame.number", minimal),
            ("tshark, the reader's own command", same),
            ("reader (load_traces)", read),
            ("oracle (load + judge_all)", judged),
        ):
            print(f"  {name:44s}{wall:8.2f}{wall / same[0]:7.2f}{cpu:8.2f}{cpu / same[1]:7.2f}")
        print(
            f"  ratios are to the reader's own tshark command; oracle/plain tshark -r: "
            f"{judged[0] / plain[0]:.2f}x wall, {judged[1] / plain[1]:.2f}x cpu"
        )
        print(f"  messages/s through the whole oracle: {messages / judged[0]:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
