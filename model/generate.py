"""Enumerate (and count) the legal traces of the model, restricted to one configuration.

Why: differential tests and probes need legal sequences to send and to mutate, and users want
to see "every way a DHE handshake with client authentication may go". The generator walks the
same ``Machine.step`` the checker uses; restrictions only choose which symbols may be sent.
A trace is listed when it ends where a trace may legally end (``machine.accepting``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from tlsmodel.model.alphabet import HANDSHAKE_TYPES
from tlsmodel.model.machine import (
    INITIAL_CONFIG,
    Config,
    Symbol,
    accepting,
    machine_for,
)
from tlsmodel.model.tables import TLS12, Model
from tlsmodel.model.trace import symbol_message

CLIENT_AUTH: Final = ("none", "empty", "cert")
RESUME: Final = ("id", "ticket")
_CORE: Final = frozenset({*HANDSHAKE_TYPES, "ChangeCipherSpec"}) - {"HelloRequest"}
_ANYTIME_ALERTS: Final = {
    ("warning", "close_notify"),
    ("fatal", "fatal_only"),
    ("warning", "no_renegotiation"),
}


@dataclass(frozen=True, slots=True)
class Restriction:
    """Which traces to generate. ``None`` leaves a choice open."""

    family: str | None = None
    suite: str | None = None
    client_auth: str | None = None
    resume: str | None = None
    max_len: int = 16
    all_messages: bool = False  # also ApplicationData, alerts and HelloRequest

    def allows(self, symbol: Symbol) -> bool:
        """Whether a symbol may appear in a generated trace."""
        sender, message = symbol[0], symbol[1]
        if message not in _CORE:
            if not self.all_messages:
                return False
            return message != "Alert" or (symbol[2], symbol[3]) in _ANYTIME_ALERTS
        if message == "ServerHello":
            family, resumed, ticket = symbol[2], symbol[3], symbol[4]
            if self.family is not None and family != self.family:
                return False
            if resumed != (self.resume is not None):
                return False
            return self.resume is None or ticket == (self.resume == "ticket")
        if message == "CertificateRequest":
            return self.client_auth != "none"
        if message == "Certificate":
            if sender == "server":
                return symbol[3] is False  # fixed_dh means nothing for a server certificate
            if self.client_auth == "empty":
                return symbol[2] is True and symbol[3] is False
            if self.client_auth == "cert":
                return symbol[2] is False
        return True


class Generator:
    """Counts and lists the legal traces of one model under one restriction."""

    def __init__(self, restriction: Restriction, model: Model = TLS12) -> None:
        self.restriction = restriction
        self.machine = machine_for(model)
        self._moves = lru_cache(maxsize=None)(self._moves_uncached)
        self._count = lru_cache(maxsize=None)(self._count_uncached)

    def _moves_uncached(self, config: Config) -> tuple[tuple[Symbol, Config], ...]:
        allows = self.restriction.allows
        return tuple(
            (symbol, succ)
            for symbol in self.machine.symbols_from(config[0])
            if allows(symbol)
            for _, succ in self.machine.step(config, symbol)
        )

    def _done(self, config: Config, requested: bool) -> bool:
        auth = self.restriction.client_auth
        return accepting(config) and (auth in (None, "none") or requested)

    def _count_uncached(self, config: Config, requested: bool, budget: int) -> int:
        total = 1 if self._done(config, requested) else 0
        if budget == 0:
            return total
        for symbol, succ in self._moves(config):
            total += self._count(succ, requested or symbol[1] == "CertificateRequest", budget - 1)
        return total

    def count(self) -> int:
        """How many legal traces of length ≤ max_len the restriction allows."""
        return self._count(INITIAL_CONFIG, False, self.restriction.max_len)

    def traces(self) -> Iterator[list[dict[str, Any]]]:
        """Every such trace, as trace-format messages, in a stable order."""
        suite = self.restriction.suite
        path: list[Symbol] = []

        def walk(config: Config, requested: bool, budget: int) -> Iterator[list[dict[str, Any]]]:
            if self._done(config, requested):
                yield [symbol_message(s, suite) for s in path]
            if budget == 0:
                return
            for symbol, succ in self._moves(config):
                now = requested or symbol[1] == "CertificateRequest"
                if self._count(succ, now, budget - 1):
                    path.append(symbol)
                    yield from walk(succ, now, budget - 1)
                    path.pop()

        yield from walk(INITIAL_CONFIG, False, self.restriction.max_len)
