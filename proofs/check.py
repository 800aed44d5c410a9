"""Run every check of ``tlsmodel check`` (in a small process pool) and collect result objects.

Why a pool: the checks are independent z3 queries and one exhaustive search; on two cores two
workers halve the wall time. Workers are forked after the imports and before any z3 term
exists, so they start in milliseconds; each task is named (a string), each answer a picklable
``Result``. The order of the report is fixed (``task_names``), whatever order tasks finish in.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from tlsmodel.model.tables import TLS12
from tlsmodel.proofs import structural
from tlsmodel.proofs.engines import all_violations, prove, with_witness
from tlsmodel.proofs.properties import BY_NAME, PROPERTIES
from tlsmodel.proofs.results import PROVED, Result, Trace

GRAPH_TASK = "graph"  # states-reachable, rows-reachable, no-deadlock, completion-without-alerts
WITNESS_TASK = "witnesses"  # one BMC finding the witness of every CHC property
EQUIVALENCE = "declarative-equivalence"
STRUCTURAL = ("determinism", "totality")
GRAPH_RESULTS = ("states-reachable", "rows-reachable", "no-deadlock", "completion-without-alerts")


@dataclass(frozen=True)
class Settings:
    """What a run checks and with which limits (picklable: workers receive it)."""

    timeout_ms: int = 20_000
    equivalence_depth: int = 8
    cex_depth: int = 24


def task_names() -> list[str]:
    """Every task, longest first (the pool starts them in this order)."""
    return [GRAPH_TASK, EQUIVALENCE, WITNESS_TASK, *(p.name for p in PROPERTIES), *STRUCTURAL]


def report_order() -> list[str]:
    """The result names in the order of the report."""
    return [*(p.name for p in PROPERTIES), *STRUCTURAL, *GRAPH_RESULTS, EQUIVALENCE]


def run_task(name: str, settings: Settings) -> list[Result] | dict[str, Trace]:
    """One task on the RFC tables (runs in a worker): results, or the witnesses by name."""
    if name == GRAPH_TASK:
        return structural.graph_results(TLS12)
    if name == "determinism":
        return [structural.determinism(TLS12, settings.timeout_ms)]
    if name == "totality":
        return [structural.totality(TLS12, settings.timeout_ms)]
    if name == EQUIVALENCE:
        from tlsmodel.proofs.declarative import check_equivalence

        return [check_equivalence(TLS12, settings.equivalence_depth, settings.timeout_ms)]
    if name == WITNESS_TASK:
        found = all_violations(
            TLS12, list(PROPERTIES), settings.cex_depth, which="witness", first_depth_only=False
        )
        return {prop.name: trace for prop, trace in found}
    return [
        prove(TLS12, BY_NAME[name], settings.timeout_ms, settings.cex_depth, find_witness=False)
    ]


def run_all(
    settings: Settings, jobs: int = 2, progress: Callable[[Result], None] | None = None
) -> list[Result]:
    """Every result of ``tlsmodel check``, in report order; ``progress`` sees each as it ends.

    A CHC result waits for the witness task before it is final (``with_witness``).
    """
    results: dict[str, Result] = {}
    witnesses: dict[str, Trace] | None = None
    waiting: list[Result] = []

    def finish(result: Result) -> None:
        assert witnesses is not None
        final = with_witness(result, witnesses.get(result.name), settings.cex_depth, result.seconds)
        results[final.name] = final
        if progress is not None:
            progress(final)

    for answer in _results(settings, jobs):
        if isinstance(answer, dict):
            witnesses = answer
            for result in waiting:
                finish(result)
            waiting.clear()
        elif answer.name in BY_NAME and answer.verdict == PROVED:
            if witnesses is None:
                waiting.append(answer)
            else:
                finish(answer)
        else:
            results[answer.name] = answer
            if progress is not None:
                progress(answer)
    return [results[name] for name in report_order() if name in results]


def _results(settings: Settings, jobs: int) -> Iterator[Result | dict[str, Trace]]:
    names = task_names()
    if jobs <= 1:
        for name in names:
            yield from _answers(run_task(name, settings))
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: set[Future[list[Result] | dict[str, Trace]]] = {
            pool.submit(run_task, n, settings) for n in names
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from _answers(future.result())


def _answers(answer: list[Result] | dict[str, Trace]) -> Iterator[Result | dict[str, Trace]]:
    """A task's results one by one; the witness map as one item."""
    if isinstance(answer, dict):
        yield answer
    else:
        yield from answer
