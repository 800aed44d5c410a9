"""Property-based checks of the checker against the machine it is built from.

Hypothesis draws sequences of concrete symbols (legal ones from the generator, then mutated:
skipped, repeated, reordered, replaced); the checker's verdict must agree with a direct
simulation of ``Machine.step`` over sets of configurations, and it never raises.
"""

from __future__ import annotations

import functools
import itertools

from hypothesis import given
from hypothesis import strategies as st
from tlsmodel.model.checker import Checker
from tlsmodel.model.generate import Generator, Restriction
from tlsmodel.model.machine import INITIAL_CONFIG, accepting, machine_for, symbols
from tlsmodel.model.trace import message_key

ALPHABET = list(symbols())


@functools.cache
def legal_traces() -> list[list[tuple]]:
    handshakes = Generator(Restriction(max_len=16)).traces()
    interleaved = itertools.islice(
        Generator(Restriction(max_len=12, all_messages=True)).traces(), 400
    )
    return [[message_key(m) for m in t] for t in itertools.chain(handshakes, interleaved)]


def simulate(trace: list[tuple]) -> tuple[str, int | None]:
    machine = machine_for()
    configs = {INITIAL_CONFIG}
    for index, symbol in enumerate(trace):
        configs = {succ for c in configs for _, succ in machine.step(c, symbol)}
        if not configs:
            return "deviates", index
    return ("conforms" if any(accepting(c) for c in configs) else "incomplete"), None


def verdict_of(trace: list[tuple]) -> tuple[str, int | None]:
    checker = Checker()
    for symbol in trace:
        if not checker.feed(symbol).ok:
            break
    result = checker.finish()
    return result.verdict, result.at


@given(st.data())
def test_generated_traces_conform(data: st.DataObject) -> None:
    trace = data.draw(st.sampled_from(legal_traces()))
    assert verdict_of(trace) == ("conforms", None)


@st.composite
def mutated(draw: st.DrawFn) -> list[tuple]:
    trace = list(draw(st.sampled_from(legal_traces())))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["skip", "repeat", "swap", "replace", "insert"]))
        i = draw(st.integers(0, len(trace) - 1))
        if op == "skip" and len(trace) > 1:
            del trace[i]
        elif op == "repeat":
            trace.insert(i, trace[i])
        elif op == "swap" and i + 1 < len(trace):
            trace[i], trace[i + 1] = trace[i + 1], trace[i]
        elif op == "replace":
            trace[i] = draw(st.sampled_from(ALPHABET))
        elif op == "insert":
            trace.insert(i, draw(st.sampled_from(ALPHABET)))
    return trace


@given(mutated())
def test_checker_agrees_with_direct_simulation(trace: list[tuple]) -> None:
    assert verdict_of(trace) == simulate(trace)


@given(st.lists(st.sampled_from(ALPHABET), max_size=25))
def test_random_symbol_sequences_never_break_the_checker(trace: list[tuple]) -> None:
    assert verdict_of(trace) == simulate(trace)
