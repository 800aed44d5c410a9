"""The declarative RFC rule set, and its bounded equivalence with the tables.

Three kinds of test: the RFC 5246 Figure 1 / Figure 2 flows (and renegotiations) satisfy every
rule; every rule rejects a hand-made trace that breaks it (no rule is vacuous); and the
equivalence check holds on the tables (after the lead settled findings D1-D3 of
/work/team/model-requests.md) and tells real state-machine bugs (mutant tables) apart.
"""

from __future__ import annotations

import dataclasses

import pytest
import z3
from tlsmodel.model.tables import ROWS, STATES, TLS12, Model, Row
from tlsmodel.proofs.declarative import (
    TABLES,
    check_equivalence,
    equivalence_queries,
    machine_accepts,
    machine_complete,
    prove_equivalence,
)
from tlsmodel.proofs.positions import Positions
from tlsmodel.proofs.results import PROVED, UNKNOWN, VIOLATED
from tlsmodel.proofs.rules import (
    RULES,
    broken_rules,
    constant_symbol,
    ends_legally,
    legal_prefix,
    position_ok,
    rule_names,
    rule_system,
)

F, T = False, True
C, S = "client", "server"
CH = (C, "ClientHello")
SHD = (S, "ServerHelloDone")
CKE = (C, "ClientKeyExchange")
CCS_C, CCS_S = (C, "ChangeCipherSpec"), (S, "ChangeCipherSpec")
FIN_C, FIN_S = (C, "Finished"), (S, "Finished")
APP_C, APP_S = (C, "ApplicationData"), (S, "ApplicationData")
HR = (S, "HelloRequest")


def sh(
    family: str = "RSA", resumed: bool = F, ticket: bool = F, status: bool = F, ri: bool = F
) -> tuple:
    return (S, "ServerHello", family, resumed, ticket, status, ri)


def cert(sender: str = S, empty: bool = F, fixed_dh: bool = F) -> tuple:
    return (sender, "Certificate", empty, fixed_dh)


def alert(sender: str, level: str, kind: str) -> tuple:
    return (sender, "Alert", level, kind)


RSA_FULL = [CH, sh(), cert(), SHD, CKE, CCS_C, FIN_C, CCS_S, FIN_S]
# RFC 5246 Figure 1 with every optional message present (RFC 6066 status, RFC 5077 ticket).
FIGURE_1_ALL = [
    CH,
    sh("ECDHE_RSA", ticket=T, status=T, ri=T),
    cert(),
    (S, "CertificateStatus"),
    (S, "ServerKeyExchange"),
    (S, "CertificateRequest"),
    SHD,
    cert(C),
    CKE,
    (C, "CertificateVerify"),
    CCS_C,
    FIN_C,
    (S, "NewSessionTicket"),
    CCS_S,
    FIN_S,
    APP_C,
    APP_S,
]
FIGURE_2 = [CH, sh(resumed=T), CCS_S, FIN_S, CCS_C, FIN_C, APP_C]
LEGAL = {
    "figure-1-rsa": RSA_FULL + [APP_C, APP_S],
    "figure-1-all-optional": FIGURE_1_ALL,
    "figure-1-anon": [
        CH,
        sh("DH_anon"),
        (S, "ServerKeyExchange"),
        SHD,
        CKE,
        CCS_C,
        FIN_C,
        CCS_S,
        FIN_S,
    ],
    "figure-1-psk-no-hint": [CH, sh("PSK"), SHD, CKE, CCS_C, FIN_C, CCS_S, FIN_S],
    "figure-1-empty-client-cert": [
        CH,
        sh(),
        cert(),
        (S, "CertificateRequest"),
        SHD,
        cert(C, empty=T),
        CKE,
        CCS_C,
        FIN_C,
        CCS_S,
        FIN_S,
    ],
    "figure-1-fixed-dh": [
        CH,
        sh("DH_RSA"),
        cert(),
        (S, "CertificateRequest"),
        SHD,
        cert(C, fixed_dh=T),
        CKE,
        CCS_C,
        FIN_C,
        CCS_S,
        FIN_S,
    ],
    "figure-2": FIGURE_2,
    "figure-2-ticket": [
        CH,
        sh(resumed=T, ticket=T),
        (S, "NewSessionTicket"),
        CCS_S,
        FIN_S,
        CCS_C,
        FIN_C,
    ],
    "renegotiation-after-hello-request": RSA_FULL
    + [APP_S, HR, APP_C, CH, sh(), APP_S, cert(), SHD, CKE, CCS_C, FIN_C, CCS_S, FIN_S],
    "renegotiation-refused": RSA_FULL + [CH, alert(S, "warning", "no_renegotiation"), APP_C],
    "hello-request-declined": RSA_FULL + [HR, alert(C, "warning", "no_renegotiation"), APP_C],
    "hello-request-mid-handshake": [CH, sh(), HR, cert(), SHD],
    "close": RSA_FULL + [alert(C, "warning", "close_notify"), alert(S, "warning", "close_notify")],
    "fatal": [CH, alert(S, "fatal", "fatal_only")],
}


@pytest.mark.parametrize("name", sorted(LEGAL))
def test_rfc_flows_satisfy_every_rule(name: str) -> None:
    assert broken_rules(LEGAL[name]) == []


# Each rule with a trace whose LAST message breaks it.
VIOLATIONS: dict[str, list[tuple]] = {
    "senders": [(S, "ClientHello")],
    "client-starts-with-client-hello": [CCS_C],
    "server-waits-for-client-hello": [sh()],
    "client-hello-renegotiates-established": [CH, CH],
    "server-hello-answers-client-hello": [CH, sh(), sh()],
    "renegotiation-info-iff-secure": RSA_FULL + [CH, sh(ri=T)],
    "server-certificate-after-server-hello": [CH, sh("DH_anon"), cert()],
    "server-certificate-required": [CH, sh(), SHD],
    "server-certificate-not-empty": [CH, sh(), cert(empty=T)],
    "certificate-status": [CH, sh(), cert(), (S, "CertificateStatus")],
    "server-key-exchange-position": [CH, sh(), cert(), (S, "ServerKeyExchange")],
    "server-key-exchange-required": [CH, sh("DHE_RSA"), cert(), SHD],
    "certificate-request": [CH, sh("DH_anon"), (S, "ServerKeyExchange"), (S, "CertificateRequest")],
    "server-hello-done": [CH, sh(resumed=T), SHD],
    "client-certificate-only-if-requested": [CH, sh(), cert(), SHD, cert(C)],
    "client-certificate-required": [CH, sh(), cert(), (S, "CertificateRequest"), SHD, CKE],
    "fixed-dh-certificate": [CH, sh(), cert(), (S, "CertificateRequest"), SHD, cert(C, fixed_dh=T)],
    "client-key-exchange": [CH, sh(), cert(), CKE],
    "certificate-verify-only-if-signing": [
        CH,
        sh(),
        cert(),
        (S, "CertificateRequest"),
        SHD,
        cert(C, empty=T),
        CKE,
        (C, "CertificateVerify"),
    ],
    "certificate-verify-required": [
        CH,
        sh(),
        cert(),
        (S, "CertificateRequest"),
        SHD,
        cert(C),
        CKE,
        CCS_C,
    ],
    "client-change-cipher-spec": [CH, sh(), cert(), SHD, CCS_C],
    "server-change-cipher-spec": [CH, sh(), cert(), SHD, CKE, CCS_S],
    "new-session-ticket-only-if-echoed": RSA_FULL[:7] + [(S, "NewSessionTicket")],
    "new-session-ticket-required": [CH, sh(ticket=T), cert(), SHD, CKE, CCS_C, FIN_C, CCS_S],
    "finished-after-change-cipher-spec": [CH, sh(), cert(), SHD, CKE, FIN_C],
    "change-cipher-spec-then-finished": [CH, sh(), cert(), SHD, CKE, CCS_C, APP_C],
    "application-data-after-first-handshake": [CH, APP_C],
    "alert-levels": [CH, alert(C, "warning", "fatal_only")],
    "fatal-alert-ends-connection": [CH, alert(S, "fatal", "other"), alert(C, "warning", "other")],
    "close-notify-ends-sender": [
        CH,
        alert(C, "warning", "close_notify"),
        alert(C, "warning", "other"),
    ],
    "client-no-renegotiation": RSA_FULL + [alert(C, "warning", "no_renegotiation")],
    "server-no-renegotiation": [CH, alert(S, "warning", "no_renegotiation")],
}


def test_every_rule_has_a_violation_case() -> None:
    assert set(VIOLATIONS) == set(rule_names())


@pytest.mark.parametrize("name", rule_names())
def test_each_rule_rejects_its_violation(name: str) -> None:
    trace = VIOLATIONS[name]
    assert broken_rules(trace[:-1]) == []
    assert (len(trace) - 1, name) in broken_rules(trace)


def test_rules_quote_the_rfc() -> None:
    for rule in RULES:
        assert rule.rfc.startswith("RFC ") and len(rule.quote) > 40, rule.name


# -- the equivalence check ----------------------------------------------------------------------


def test_equivalence_holds_on_tls12() -> None:
    result = check_equivalence(TLS12, depth=7)
    assert result.verdict == PROVED, result.detail
    assert len(result.per_depth) == 7 and result.holds


def test_equivalence_all_lengths() -> None:
    result = prove_equivalence(TLS12)
    assert result.verdict == PROVED, result.detail


def test_the_all_lengths_query_exports_as_smt2() -> None:
    ((stem, text),) = equivalence_queries(TLS12)
    assert stem.startswith("declarative-equivalence") and text.rstrip().endswith("(check-sat)")
    assert "equivalence_inv" in text


@pytest.mark.slow
def test_equivalence_depth_20() -> None:
    result = check_equivalence(TLS12, depth=20)
    assert result.verdict == PROVED, result.detail


def _mutant(name: str, rows: tuple[Row, ...]) -> Model:
    return Model(name, STATES, rows)


def _replace(match, **changes) -> tuple[Row, ...]:
    rows = tuple(dataclasses.replace(r, **changes) if match(r) else r for r in ROWS)
    assert rows != ROWS
    return rows


MUTANTS = {
    # FREAK: ServerKeyExchange accepted whatever the family says.
    "ske-in-rsa": _mutant(
        "ske-in-rsa", _replace(lambda r: r.message == "ServerKeyExchange", guard=())
    ),
    # CVE-2014-3572 / SKIP-TLS: ServerHelloDone without the required ServerKeyExchange.
    "skip-ske": _mutant(
        "skip-ske",
        _replace(
            lambda r: r.message == "ServerHelloDone" and r.state != "SERVER_KEY_EXCHANGE", guard=()
        ),
    ),
    # Application data before the first handshake completes.
    "early-application-data": _mutant(
        "early-application-data", _replace(lambda r: r.message == "ApplicationData", guard=())
    ),
    # CVE-2014-0224: the client's ChangeCipherSpec before its ClientKeyExchange.
    "ccs-before-cke": _mutant(
        "ccs-before-cke",
        ROWS + (Row("HELLO_DONE", C, "ChangeCipherSpec", (), "CLIENT_CCS", (), "mutant"),),
    ),
}


def test_a_mutant_that_never_completes_differs_on_the_legal_end() -> None:
    rows = _replace(
        lambda r: r.state == "SERVER_CCS" and r.message == "Finished", target="SERVER_CCS"
    )
    result = check_equivalence(_mutant("finished-not-final", rows), depth=8)
    assert result.verdict == VIOLATED and result.broken_rules == ("legal-end",)
    assert result.counterexample[-1] == FIN_S and ends_legally(result.counterexample)


def test_legal_end() -> None:
    assert ends_legally(RSA_FULL) and ends_legally(FIGURE_2) and ends_legally(LEGAL["fatal"])
    assert ends_legally(LEGAL["close"]) and ends_legally(LEGAL["renegotiation-refused"])
    assert not ends_legally(RSA_FULL[:-1]) and not ends_legally(RSA_FULL + [CH])
    assert not ends_legally(FIGURE_2[:-2])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_tables_differ_from_the_rules(name: str) -> None:
    mutant = MUTANTS[name]
    result = check_equivalence(mutant, depth=8)
    assert result.verdict == VIOLATED, result.detail
    symbols = result.counterexample
    # The counterexample is the mutation's doing: the real tables judge it the other way.
    assert machine_accepts(mutant, symbols) == (result.accepted_by == TABLES)
    assert machine_accepts(mutant, symbols) != machine_accepts(TLS12, symbols)


def test_every_mutant_of_the_proofs_helper_differs_from_the_rules() -> None:
    """The equivalence check alone tells each named state-machine bug apart (proofs/mutants)."""
    mutants = pytest.importorskip("tlsmodel.proofs.mutants")
    for mutant in mutants.MUTANTS:
        result = check_equivalence(mutant.model, depth=10)
        assert result.verdict == VIOLATED, mutant.name
        trace = result.counterexample
        assert (machine_accepts(mutant.model, trace), machine_complete(mutant.model, trace)) != (
            machine_accepts(TLS12, trace),
            machine_complete(TLS12, trace),
        ), mutant.name


def test_running_out_of_time_is_unknown_not_a_pass() -> None:
    result = check_equivalence(TLS12, depth=20, timeout_ms=1)
    assert result.verdict == UNKNOWN and not result.holds


def test_legal_prefix_over_symbolic_positions() -> None:
    pos = Positions.fresh(4, prefix="lp")
    solver = z3.Solver()
    solver.add(pos.domains(), legal_prefix(pos), pos.length == 4)
    assert solver.check() == z3.sat  # some legal prefix of length 4 exists
    solver.add(pos.is_(0, "ApplicationData"))
    assert solver.check() == z3.unsat  # none starts with application data


@pytest.mark.parametrize("name", ["figure-1-all-optional", "renegotiation-refused"])
def test_the_rule_system_is_the_rules_cut_at_each_position(name: str) -> None:
    """The transition-system form (used by both checks) agrees with the rules over positions."""
    system = rule_system()
    trace = LEGAL[name]
    h = dict(system.initial)
    for cut, symbol in enumerate(trace):
        for last in [symbol, APP_C, CCS_S, alert(C, "warning", "no_renegotiation")]:
            symbols = [*trace[:cut], last]
            by_system = z3.simplify(system.ok(h, constant_symbol(last)))
            pos = Positions([constant_symbol(x) for x in symbols])
            by_positions = z3.simplify(position_ok(pos, cut))
            assert z3.is_true(by_system) == z3.is_true(by_positions), symbols
        pairs = [(system.history[n], h[n]) for n in h]
        pairs += list(zip(system.symbol.terms(), constant_symbol(symbol).terms(), strict=True))
        h = {n: z3.simplify(z3.substitute(system.next[n], *pairs)) for n in h}
