"""Mutant tables: TLS 1.2 with one real state-machine bug each, and the check that kills them.

Why: a property that no bug can violate proves nothing. Each mutant below is the RFC tables
with a few rows changed the way a real implementation got it wrong (the CVE or attack is named);
``check_mutant`` searches, by BMC over the mutant's own encoding, for the shortest trace the
mutant accepts that violates some property. A mutant is *killed* when some property has a
counterexample; every counterexample is replayed on the mutant's Python machine and checked to be
rejected by the RFC tables.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Final

from tlsmodel.model.machine import INITIAL_CONFIG, machine_for
from tlsmodel.model.tables import ROWS, STATES, TLS12, Model, Row
from tlsmodel.proofs.engines import all_violations
from tlsmodel.proofs.properties import PROPERTIES
from tlsmodel.proofs.results import Trace

C, S = "client", "server"
RowTest = Callable[[Row], bool]


@dataclass(frozen=True)
class Mutant:
    """A named bug: its CVE / attack, and the changed tables."""

    name: str
    bug: str
    model: Model


def _at(state: str, sender: str, message: str) -> RowTest:
    return lambda r: (r.state, r.sender, r.message) == (state, sender, message)


def _mutate(
    name: str,
    bug: str,
    *,
    change: tuple[tuple[RowTest, Callable[[Row], Row]], ...] = (),
    add: tuple[Row, ...] = (),
) -> Mutant:
    """TLS12 with every row matching a test replaced by ``fix(row)``, plus ``add`` rows."""
    rows = []
    for row in ROWS:
        for test, fix in change:
            if test(row):
                row = fix(row)
        rows.append(row)
    changed = tuple(rows) + add
    if changed == ROWS:
        raise ValueError(f"mutant {name} changes nothing")
    return Mutant(name, bug, Model(f"mutant {name}", STATES, changed))


def _row(
    state: str, sender: str, message: str, target: str, guard: tuple = (), effects: tuple = ()
) -> Row:
    return Row(state, sender, message, guard, target, effects, f"MUTANT: {message} in {state}")


def _guard_without(path: str) -> Callable[[Row], Row]:
    return lambda r: dataclasses.replace(r, guard=tuple(a for a in r.guard if a[0] != path))


ECDHE = ("ECDHE_RSA", "ECDHE_ECDSA")
MUTANTS: Final[tuple[Mutant, ...]] = (
    _mutate(
        "skip-ske-ecdhe",
        "CVE-2014-3572 / SKIP-TLS: ECDHE without ServerKeyExchange",
        add=(
            _row("SERVER_CERTIFICATE", S, "ServerHelloDone", "HELLO_DONE", (("var.fam", ECDHE),)),
        ),
    ),
    _mutate(
        "ske-in-rsa",
        "FREAK, CVE-2015-0204: ServerKeyExchange accepted under RSA",
        add=(
            _row(
                "SERVER_CERTIFICATE",
                S,
                "ServerKeyExchange",
                "SERVER_KEY_EXCHANGE",
                (("var.fam", ("RSA",)),),
            ),
        ),
    ),
    _mutate(
        "early-ccs",
        "CVE-2014-0224: ChangeCipherSpec before ClientKeyExchange",
        add=(_row("HELLO_DONE", C, "ChangeCipherSpec", "CLIENT_CCS"),),
    ),
    _mutate(
        "skip-certificate-verify",
        "SMACK (client impersonation): CertificateVerify skipped after a signing certificate",
        add=(_row("CLIENT_KEY_EXCHANGE_VERIFY", C, "ChangeCipherSpec", "CLIENT_CCS"),),
    ),
    _mutate(
        "finished-without-ccs",
        "SMACK (Beurdouche et al. 2015): Finished without CCS",
        add=(
            _row(
                "CLIENT_KEY_EXCHANGE",
                C,
                "Finished",
                "CLIENT_FINISHED",
            ),
        ),
    ),
    _mutate(
        "appdata-before-finished",
        "SMACK / early data: ApplicationData before the handshake completed",
        change=((lambda r: r.message == "ApplicationData", _guard_without("var.reneg")),),
    ),
    _mutate(
        "skip-client-certificate",
        "SMACK: client Certificate skipped after CertificateRequest (auth bypass)",
        add=(_row("HELLO_DONE_CERT_REQUESTED", C, "ClientKeyExchange", "CLIENT_KEY_EXCHANGE"),),
    ),
    _mutate(
        "ticket-without-extension",
        "RFC 5077 §3.3 violation: NewSessionTicket without session_ticket",
        add=(
            _row(
                "CLIENT_FINISHED",
                S,
                "NewSessionTicket",
                "NEW_SESSION_TICKET",
                (("var.ticket", (False,)),),
            ),
        ),
    ),
    _mutate(
        "status-without-request",
        "RFC 6066 §8 violation: CertificateStatus without status_request",
        change=((_at("SERVER_CERTIFICATE", S, "CertificateStatus"), _guard_without("var.status")),),
    ),
    _mutate(
        "cert-request-anonymous",
        "RFC 5246 §7.4.4 violation: CertificateRequest from an anonymous server",
        change=(
            (
                _at("SERVER_KEY_EXCHANGE", S, "CertificateRequest"),
                _guard_without("fam.cert_request"),
            ),
        ),
    ),
    _mutate(
        "renegotiation-without-ri",
        "CVE-2009-3555 (RFC 5746): renegotiation without renegotiation_info",
        change=(
            (
                lambda r: r.message == "ServerHello" and ("var.secure", (True,)) in r.guard,
                _guard_without("msg.ri"),
            ),
        ),
    ),
    _mutate(
        "data-after-close-notify",
        "RFC 5246 §7.2.1 violation: close_notify does not end what its sender sends",
        change=(
            (
                lambda r: ("msg.kind", ("close_notify",)) in r.guard and r.target != "CLOSED",
                lambda r: dataclasses.replace(r, effects=()),
            ),
        ),
    ),
    _mutate(
        "continue-after-fatal",
        "RFC 5246 §7.2.2 violation: connection goes on after a fatal alert",
        change=(
            (
                lambda r: r.message == "Alert" and r.target == "CLOSED",
                lambda r: dataclasses.replace(r, target="SAME"),
            ),
        ),
    ),
    _mutate(
        "resumption-with-certificate",
        "abbreviated handshake accepting a server Certificate (session confusion)",
        add=(_row("RESUMED", S, "Certificate", "RESUMED"),),
    ),
    _mutate(
        "fixed-dh-cert-any-family",
        "CVE-2015-0205: fixed-DH client certificate accepted (no CertificateVerify) under an "
        "ephemeral key exchange",
        change=(
            (
                lambda r: ("fam.fixed_dh", (True,)) in r.guard,
                _guard_without("fam.fixed_dh"),
            ),
        ),
    ),
    _mutate(
        "server-ccs-before-client-finished",
        "CVE-2014-0224 (client side): server ChangeCipherSpec accepted before the handshake "
        "is authenticated",
        add=(_row("CLIENT_CCS", S, "ChangeCipherSpec", "NEW_SESSION_TICKET"),),
    ),
    _mutate(
        "appdata-in-ccs-gap",
        "SMACK: ApplicationData between ChangeCipherSpec and Finished",
        change=(
            (
                lambda r: r.message == "ApplicationData",
                lambda r: dataclasses.replace(r, state="ANY"),
            ),
        ),
    ),
    _mutate(
        "double-client-key-exchange",
        "second ClientKeyExchange accepted (key-exchange replay, cf. CVE-2014-0224 class)",
        add=(_row("CLIENT_KEY_EXCHANGE", C, "ClientKeyExchange", "CLIENT_KEY_EXCHANGE"),),
    ),
)


@dataclass(frozen=True, slots=True)
class MutantResult:
    """Whether the properties kill a mutant, which ones, and the shortest counterexample."""

    name: str
    bug: str
    killed: bool
    by: tuple[str, ...]
    trace: Trace | None
    seconds: float
    rfc_rejects_at: int | None

    def to_json(self) -> dict[str, object]:
        """The ``mutants[]`` entry of ``tlsmodel check --mutants --json``."""
        return {
            "name": self.name,
            "bug": self.bug,
            "killed": self.killed,
            "by": list(self.by),
            "counterexample": self.trace.to_json() if self.trace else None,
            "rfc_rejects_at": self.rfc_rejects_at,
            "seconds": round(self.seconds, 4),
        }


def _rfc_rejects_at(trace: Trace) -> int | None:
    """The index of the first message of ``trace`` that the RFC tables reject (None: none)."""
    machine = machine_for(TLS12)
    config = INITIAL_CONFIG
    for index, (_, symbol) in enumerate(trace.steps):
        successors = machine.step(config, symbol)
        if not successors:
            return index
        config = successors[0][1]
    return None


def divergence_depth(model: Model, max_depth: int) -> int:
    """The length of the shortest trace ``model`` accepts and the RFC tables reject.

    Exhaustive breadth-first search over pairs (mutant configuration, RFC configuration) with
    ``Machine.step``. A property that reads only the trace cannot fail on a trace the RFC tables
    accept (TLS12 satisfies it, proved), so its counterexamples on the mutant are at least this
    long and BMC need not ask shorter depths. (``fatal-alert-always-accepted`` also reads the
    relation; none of the mutants removes an alert row, so none can fail it earlier.)
    Returns 1 when nothing diverges within ``max_depth`` (BMC then asks every depth).
    """
    mutant, rfc = machine_for(model), machine_for(TLS12)
    level = {(INITIAL_CONFIG, INITIAL_CONFIG)}
    seen = set(level)
    for depth in range(1, max_depth + 1):
        nxt = set()
        for config, reference in level:
            for symbol in mutant.symbols_from(config[0]):
                for _, succ in mutant.step(config, symbol):
                    ref_succ = rfc.step(reference, symbol)
                    if not ref_succ:
                        return depth
                    pair = (succ, ref_succ[0][1])
                    if pair not in seen:
                        seen.add(pair)
                        nxt.add(pair)
        level = nxt
    return 1


def check_mutant(mutant: Mutant, max_depth: int = 20) -> MutantResult:
    """Kill ``mutant``: the properties violated by its shortest counterexample, and that trace."""
    start = time.perf_counter()
    lower = divergence_depth(mutant.model, max_depth)
    found = all_violations(mutant.model, list(PROPERTIES), max_depth, min_depth=lower)
    by = tuple(prop.name for prop, _ in found)
    trace = found[0][1] if found else None
    return MutantResult(
        mutant.name,
        mutant.bug,
        bool(found),
        by,
        trace,
        time.perf_counter() - start,
        _rfc_rejects_at(trace) if trace else None,
    )


def _check_by_name(name: str) -> MutantResult:
    return check_mutant(next(m for m in MUTANTS if m.name == name))


def run_mutants(
    jobs: int = 2, progress: Callable[[MutantResult], None] | None = None
) -> list[MutantResult]:
    """Check every mutant (in ``jobs`` forked workers), in the order of ``MUTANTS``."""
    names = [m.name for m in MUTANTS]
    if jobs <= 1:
        results = []
        for name in names:
            results.append(_check_by_name(name))
            if progress is not None:
                progress(results[-1])
        return results
    context = multiprocessing.get_context("fork")
    by_name: dict[str, MutantResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for result in pool.map(_check_by_name, names):
            by_name[result.name] = result
            if progress is not None:
                progress(result)
    return [by_name[name] for name in names]
