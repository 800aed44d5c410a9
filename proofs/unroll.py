"""Bounded unrolling of the transition relation: traces of length n as z3 terms.

Why this module exists: bounded checks (shortest counterexamples of a mutant, witness traces of a
property, the bounded equivalence of the declarative rule set with the tables) all need the same
picture — configurations c[0..n], symbols s[0..n-1], c[0] initial and each step a transition of
the tables — and should not rebuild it each in their own way. ``Unrolling`` is that picture for
one model; ``accepted(k)`` says "the first k symbols form a trace the tables accept".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3
from tlsmodel.model.machine import Config as MachineConfig
from tlsmodel.model.machine import Symbol
from tlsmodel.model.tables import Model
from tlsmodel.proofs.encoding import (
    Config,
    Encoding,
    Sym,
    decode_symbol,
    encoding_for,
    new_config,
    new_symbol,
)


@dataclass
class Unrolling:
    """n positions of one model: ``configs[i]`` before ``symbols[i]``, ``configs[i+1]`` after.

    ``steps[i]`` is "symbol i is well formed and the tables accept it from configs[i], leading to
    configs[i+1]". Terms are named ``{prefix}{i}.…`` so two unrollings can share a solver.
    """

    encoding: Encoding
    configs: list[Config]
    symbols: list[Sym]
    steps: list[z3.BoolRef] = field(default_factory=list)

    @property
    def init(self) -> z3.BoolRef:
        """configs[0] is the initial configuration."""
        return self.encoding.init(self.configs[0])

    @property
    def length(self) -> int:
        """The number of symbol positions."""
        return len(self.symbols)

    def accepted(self, k: int) -> z3.BoolRef:
        """The first ``k`` symbols are a prefix the tables accept (from the initial config)."""
        if not 0 <= k <= self.length:
            raise ValueError(f"prefix length {k} outside 0..{self.length}")
        return z3.And(self.init, *self.steps[:k])

    def accepting(self, k: int) -> z3.BoolRef:
        """configs[k] is a configuration where a trace may end (``machine.accepting``)."""
        return self.encoding.accepting(self.configs[k])

    def trace(self, model: z3.ModelRef, k: int) -> list[tuple[MachineConfig, Symbol]]:
        """The first ``k`` steps of a z3 model as (configuration before, symbol) pairs."""
        return [
            (
                self.encoding.decode_config(model, self.configs[i]),
                decode_symbol(model, self.symbols[i]),
            )
            for i in range(k)
        ]

    def final(self, model: z3.ModelRef, k: int) -> MachineConfig:
        """The configuration after ``k`` steps in a z3 model."""
        return self.encoding.decode_config(model, self.configs[k])


def unroll(model: Model, n: int, prefix: str = "t") -> Unrolling:
    """The transition relation of ``model`` unrolled ``n`` times (see ``Unrolling``)."""
    enc = encoding_for(model)
    configs = [new_config(f"{prefix}{i}") for i in range(n + 1)]
    symbols = [new_symbol(f"{prefix}{i}") for i in range(n)]
    steps = [enc.transition_at(configs[i], symbols[i], configs[i + 1]) for i in range(n)]
    return Unrolling(enc, configs, symbols, steps)
