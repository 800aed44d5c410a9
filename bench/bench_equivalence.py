"""Time of the tables ≡ declarative-rules check: per depth up to N, and for all lengths.

Issue 2 asks for the equivalence "for every trace up to length ≥ 20 (report the time)". This
prints the solver time of each depth, the wall and CPU time in total, and the time of the
all-lengths proof (CHC). No asserts. Run:
``python bench/bench_equivalence.py [--depth 20] [--no-chc]``.
"""

from __future__ import annotations

import argparse
import time

from tlsmodel.model.tables import TLS12
from tlsmodel.proofs.declarative import check_equivalence, prove_equivalence
from tlsmodel.proofs.rules import RULES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--no-chc", action="store_true", help="skip the all-lengths proof")
    args = parser.parse_args()
    wall, cpu = time.perf_counter(), time.process_time()
    result = check_equivalence(TLS12, depth=args.depth)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    head = f"{len(RULES)} rules: {result.verdict} (depth {result.depth})"
    print(f"{head} wall {wall:.2f} s cpu {cpu:.2f} s")
    print("  per depth (s): " + " ".join(f"{s:.3f}" for s in result.per_depth))
    if result.counterexample:
        print(f"  {result.detail}")
        for symbol in result.counterexample:
            print(f"    {symbol}")
    if not args.no_chc:
        wall, cpu = time.perf_counter(), time.process_time()
        proof = prove_equivalence(TLS12)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  all lengths: {proof.verdict} wall {wall:.2f} s cpu {cpu:.2f} s")


if __name__ == "__main__":
    main()
