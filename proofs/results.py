"""What a check returns: a result object, never printed text.

Why a module of its own: the CLI table, the JSON report, the mutant report and the tests all read
the same fields. A solver ``unknown`` is its own verdict and counts as a failure everywhere
(``Result.holds`` is true only for ``proved``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tlsmodel.model.machine import SYMBOL_ATTRIBUTES, VAR_NAMES, Config, Symbol
from tlsmodel.model.tables import VARIABLES

PROVED: Final = "proved"
VIOLATED: Final = "violated"
UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Trace:
    """A counterexample or witness: (configuration before, symbol) steps and the last config."""

    steps: tuple[tuple[Config, Symbol], ...]
    final: Config

    def lines(self) -> list[str]:
        """Alternating ``state`` / ``message`` lines (variables shown where they differ)."""
        out = []
        for config, symbol in self.steps:
            out.append(f"state   {format_config(config)}")
            out.append(f"message {format_symbol(symbol)}")
        out.append(f"state   {format_config(self.final)}")
        return out

    def to_json(self) -> list[dict[str, object]]:
        """``[{"state", "vars"}, {"from", "type", attrs...}, ..., {"state", "vars"}]``."""
        out: list[dict[str, object]] = []
        for config, symbol in self.steps:
            out.append(config_json(config))
            out.append(symbol_json(symbol))
        out.append(config_json(self.final))
        return out


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one named check.

    ``method`` says how it was decided (e.g. "CHC (Spacer), all lengths", "BMC depth 12");
    ``depth`` is set only for bounded checks; ``trace`` is the counterexample of a violation
    (or, for a proved property, the witness showing it is not vacuous, in ``witness``).
    """

    name: str
    rfc: str
    method: str
    verdict: str
    seconds: float
    depth: int | None = None
    trace: Trace | None = None
    witness: Trace | None = None
    detail: str = ""

    @property
    def holds(self) -> bool:
        """Only a proof counts: ``unknown`` and ``violated`` are failures."""
        return self.verdict == PROVED

    def to_json(self) -> dict[str, object]:
        """The ``properties[]`` entry of ``tlsmodel check --json``."""
        return {
            "name": self.name,
            "rfc": self.rfc,
            "method": self.method,
            "result": self.verdict,
            "depth": self.depth,
            "seconds": round(self.seconds, 4),
            "counterexample": self.trace.to_json() if self.trace else None,
            "detail": self.detail,
        }


_DEFAULTS: Final = tuple(VARIABLES[name][0] for name in VAR_NAMES)


def format_config(config: Config) -> str:
    """``STATE`` followed by the variables that differ from their initial value."""
    state, values = config
    changed = [
        f"{name}={value}"
        for name, value, default in zip(VAR_NAMES, values, _DEFAULTS, strict=True)
        if value != default
    ]
    return f"{state} {{{', '.join(changed)}}}" if changed else state


def format_symbol(symbol: Symbol) -> str:
    """``sender Type attr=value ...``."""
    sender, message, *values = symbol
    names = [name for name, _ in SYMBOL_ATTRIBUTES.get(str(message), ())]
    attrs = " ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))
    return f"{sender} {message}" + (f" {attrs}" if attrs else "")


def config_json(config: Config) -> dict[str, object]:
    """A configuration as JSON: state name and every variable."""
    return {"state": config[0], "vars": dict(zip(VAR_NAMES, config[1], strict=True))}


def symbol_json(symbol: Symbol) -> dict[str, object]:
    """A symbol as JSON in the trace-file spirit: ``from``, ``type`` and its abstract attributes."""
    sender, message, *values = symbol
    names = [name for name, _ in SYMBOL_ATTRIBUTES.get(str(message), ())]
    return {"from": sender, "type": message, **dict(zip(names, values, strict=True))}
