"""What the diagrams say, checked on their DOT text: labels, dashes, colours, projections, and
the trace overlay. Each test reads the model's own rows for its expectation where it can, so a
table change moves the test's expectation with it instead of breaking it silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tlsmodel.diagrams.draw import (
    ALTERNATIVE_COLOUR,
    DEVIATION_COLOUR,
    KIND_COLOURS,
    PATH_COLOUR,
    atom_text,
    to_dot,
)
from tlsmodel.diagrams.overlay import check_trace
from tlsmodel.diagrams.views import FAMILY_GROUPS, Choice, merged_view, projected_view
from tlsmodel.model.machine import machine_for, role_view
from tlsmodel.model.tables import STATES
from tlsmodel.model.trace import read_jsonl

EXAMPLE = Path(__file__).parent.parent / "diagrams" / "examples" / "rfc5246.jsonl"
MACHINE = machine_for()
EDGE_RE = re.compile(
    r'^  "(?P<src>[^"]+)" -> "(?P<dst>[^"]+)" \[id="(?P<id>[^"]+)", (?P<rest>.*)\];$'
)


def edges(dot: str) -> dict[str, tuple[str, str, str]]:
    """Edge id -> (source, target, attribute text), from the DOT ``draw`` writes."""
    found = {}
    for line in dot.splitlines():
        match = EDGE_RE.match(line)
        if match:
            found[match["id"]] = (match["src"], match["dst"], match["rest"])
    return found


def view_dot(role: str = "composite", **choice: object) -> str:
    made = Choice(**choice)  # type: ignore[arg-type]
    view = merged_view(MACHINE, "t") if made.is_empty() else projected_view(MACHINE, made, "t")
    assert view is not None
    return to_dot(view, STATES, role)


def trace(trace_id: str):
    for _, item in read_jsonl(EXAMPLE.read_text().splitlines()):
        if item.id == trace_id:
            return item
    raise AssertionError(trace_id)


def test_merged_view_draws_every_non_anytime_row_with_its_guard() -> None:
    dot = view_dot()
    drawn = edges(dot)
    for row in MACHINE.rows:
        if row.kind == "anytime":
            continue
        ident = (
            next(
                (
                    i
                    for i, (s, t, _) in drawn.items()
                    if s == row.state
                    and t in (row.target, f"loop-{row.state}")
                    and f"-{row.message}-" in i
                ),
                None,
            )
            if row.state != row.target
            else "ESTABLISHED--loop"
        )
        assert ident in drawn, row
        for atom in row.guard[1:]:  # the sender guard is stated once, in the legend
            assert atom_text(atom) in dot, (row, atom)
    assert "var.client_closed = false" in dot and "var.server_closed = false" in dot


def test_role_views_label_send_and_recv() -> None:
    client, server, composite = view_dot("client"), view_dot("server"), view_dot("composite")
    for role, dot in (("client", client), ("server", server)):
        for state, direction, message, _ in role_view(role):  # the model's own role view
            assert f"{direction} {message}" in dot, (role, state, direction, message)
    assert "send ClientHello" in client and "recv ServerHello" in client
    assert "recv ClientHello" in server and "send ServerHello" in server
    assert "client: ClientHello" in composite and "server: ServerHello" in composite
    assert "send ClientHello" not in composite and "recv ServerHello" not in composite
    start = edges(client)["START--client-ClientHello-handshake--CLIENT_HELLO"][2]
    assert "penwidth=1.8" in start  # the role's own messages are bold
    assert "penwidth" not in edges(server)["START--client-ClientHello-handshake--CLIENT_HELLO"][2]


def test_optional_messages_are_dashed_and_required_ones_solid() -> None:
    drawn = edges(view_dot(families=FAMILY_GROUPS["RSA"]))
    request = drawn[
        "SERVER_CERTIFICATE--server-CertificateRequest-handshake-optional--CERTIFICATE_REQUEST"
    ]
    assert "style=dashed" in request[2]
    done = drawn["SERVER_CERTIFICATE--server-ServerHelloDone-handshake--HELLO_DONE"]
    assert "dashed" not in done[2]


def test_projection_removes_what_the_family_forbids_and_undashes_what_it_requires() -> None:
    rsa = edges(view_dot(families=("RSA",)))
    assert not any("ServerKeyExchange" in i for i in rsa)  # FREAK's message has no edge
    dhe = edges(view_dot(families=FAMILY_GROUPS["DHE"]))
    # the row is optional in the table, but under DHE nothing goes around it
    assert "SERVER_CERTIFICATE--server-ServerKeyExchange-handshake--SERVER_KEY_EXCHANGE" in dhe
    assert not any(i.startswith("SERVER_CERTIFICATE--server-ServerHelloDone") for i in dhe)
    anon = view_dot(families=FAMILY_GROUPS["anon"])
    assert not any("CertificateRequest" in i for i in edges(anon))
    assert 'id="state-SERVER_CERTIFICATE"' not in anon and 'id="state-SERVER_HELLO"' in anon


def test_group_projection_marks_edges_of_some_families_only() -> None:
    dot = view_dot(families=FAMILY_GROUPS["PSK"])
    assert "only RSA_PSK" in dot  # the server Certificate of RSA_PSK (RFC 4279 §4)


def test_client_auth_and_resume_restrict_the_projection() -> None:
    cert = edges(view_dot(families=("RSA",), client_auth="cert"))
    assert (
        "CLIENT_KEY_EXCHANGE_VERIFY--client-CertificateVerify-handshake--CLIENT_KEY_EXCHANGE"
        in cert
    )
    # every full handshake carries the certificate: no way around CertificateRequest
    assert not any(i.startswith("SERVER_CERTIFICATE--server-ServerHelloDone") for i in cert)
    none = edges(view_dot(families=("RSA",), client_auth="none"))
    assert not any("CertificateRequest" in i or "CertificateVerify" in i for i in none)
    ticket = edges(view_dot(families=("RSA",), resume="ticket"))
    assert not any("SERVER_HELLO" in i for i in ticket)
    assert "RESUMED--server-NewSessionTicket-resumption--RESUMED_TICKET" in ticket


def test_kinds_have_their_colours() -> None:
    drawn = edges(view_dot())
    colour = re.compile(r'color="([^"]+)"')
    for ident, (_, _, rest) in drawn.items():
        if "--loop" in ident or "+" in ident:
            continue
        kind = ident.split("--")[1].split("-")[2]
        assert colour.search(rest)[1] == KIND_COLOURS[kind], ident
    kinds = {ident.split("--")[1].split("-")[2] for ident in drawn if "--loop" not in ident}
    assert {"handshake", "resumption", "renegotiation"} <= kinds
    assert len(set(KIND_COLOURS.values())) == len(KIND_COLOURS)


def test_edges_carry_the_rfc_section_as_tooltip() -> None:
    drawn = edges(view_dot())
    rest = drawn["CLIENT_KEY_EXCHANGE--client-ChangeCipherSpec-handshake--CLIENT_CCS"][2]
    assert 'tooltip="RFC 5246 §7.1, §7.3' in rest


def test_anytime_rows_are_summarised_not_drawn_everywhere() -> None:
    dot = view_dot(families=("RSA",))
    drawn = edges(dot)
    assert not any("anytime" in i for i in drawn if not i.startswith("ESTABLISHED"))
    assert "ESTABLISHED--client+server-Alert-anytime-optional--CLOSED" in drawn
    assert "ApplicationData [var.reneg = true]: in every state, except START, CLIENT_CCS" in dot


def test_trace_overlay_marks_the_deviation_red_with_the_legal_alternatives() -> None:
    checked = check_trace(MACHINE, trace("deviation-rsa-ske"))
    assert checked.verdict.verdict == "deviates" and checked.verdict.at == 3
    dot = to_dot(checked.view, STATES, "composite", checked.overlay)
    drawn = edges(dot)
    red = drawn["SERVER_CERTIFICATE--server-ServerKeyExchange-handshake--deviation-3"][2]
    assert f'color="{DEVIATION_COLOUR}"' in red
    assert "guard fails: fam.ske ∈ {required, optional}" in dot
    legal = drawn["SERVER_CERTIFICATE--server-ServerHelloDone-handshake--HELLO_DONE"][2]
    assert f'color="{ALTERNATIVE_COLOUR}"' in legal and "(legal here)" in legal
    path = drawn["SERVER_HELLO--server-Certificate-handshake--SERVER_CERTIFICATE"][2]
    assert f'color="{PATH_COLOUR}"' in path and 'label=" #2 server: Certificate' in path
    assert [s.answer for s in checked.steps][3:5] == ["deviation", "unchecked"]


@pytest.mark.parametrize("trace_id", ["figure1-full", "figure2-abbreviated"])
def test_conforming_traces_have_their_whole_path_drawn(trace_id: str) -> None:
    checked = check_trace(MACHINE, trace(trace_id))
    assert checked.verdict.verdict == "conforms"
    dot = to_dot(checked.view, STATES, "composite", checked.overlay)
    assert DEVIATION_COLOUR not in dot
    numbered = {int(n) for m in re.findall(r"#([\d,]+) ", dot) for n in m.split(",")}
    assert numbered == set(range(len(checked.trace.messages)))
    if trace_id == "figure2-abbreviated":
        assert "RESUMED_SERVER_FINISHED--client-ChangeCipherSpec-resumption" in dot


def test_unknown_messages_draw_only_the_branches_the_rest_of_the_trace_confirms() -> None:
    from tlsmodel.model.trace import Trace

    messages = [
        {"from": "client", "type": "ClientHello"},
        {"from": "server", "type": "ServerHello"},  # family and resumption unknown
        {"from": "server", "type": "unknown-encrypted"},
        {"from": "server", "type": "ServerHelloDone"},
        {"from": "client", "type": "ClientKeyExchange"},
    ]
    checked = check_trace(MACHINE, Trace("enc", messages))
    assert checked.verdict.verdict == "incomplete"
    dot = to_dot(checked.view, STATES, "composite", checked.overlay)
    resumed = edges(dot)["CLIENT_HELLO--server-ServerHello-resumption--RESUMED"][2]
    assert PATH_COLOUR not in resumed  # ServerHelloDone rules out the abbreviated branch
    assert checked.steps[1].states == ("SERVER_HELLO",)
    assert checked.steps[2].states == ("SERVER_CERTIFICATE", "SERVER_HELLO", "SERVER_KEY_EXCHANGE")


def test_guards_read_as_formulas() -> None:
    from tlsmodel.diagrams.draw import guard_lines

    assert atom_text(("fam.ske", ("required", "optional"))) == "fam.ske ∈ {required, optional}"
    assert atom_text(("msg.resumed", (False,))) == "msg.resumed = false"
    shared = ("msg.resumed", (False,))
    lines = guard_lines(((shared, ("var.secure", (True,))), (shared, ("var.secure", (False,)))))
    assert lines == ["msg.resumed = false ∧", "(var.secure = true", "∨ var.secure = false)"]
    assert guard_lines(()) == []


def test_committed_svg_has_rfc_tooltips_and_stable_ids() -> None:
    from html import unescape

    svg = unescape((EXAMPLE.parent.parent / "composite-merged.svg").read_text("utf-8"))
    assert 'id="START--client-ClientHello-handshake--CLIENT_HELLO"' in svg
    assert 'xlink:title="RFC 5246 §7.4.1.2: the client\'s first message is ClientHello"' in svg
    assert not re.search(r'id="(node|edge)\d+"', svg)  # no ids graphviz numbered itself
