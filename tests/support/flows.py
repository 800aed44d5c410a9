"""Expected message sequences of TLS 1.2 handshakes, written from the RFCs, for capture tests.

Tokens are ``"C:<type>"`` / ``"S:<type>"`` (sender and message type of the trace format). The
builders follow RFC 5246 §7.3 Figure 1 (full handshake) and Figure 2 (abbreviated), RFC 5077
§3.3 (NewSessionTicket right before the server's ChangeCipherSpec when tickets are issued) and
RFC 6066 §8 (CertificateStatus right after the server's Certificate).
"""

from __future__ import annotations

from typing import Any

U = "unknown-encrypted"


def hello_flight(*, ske: bool = True, status: bool = False, cr: bool = False) -> list[str]:
    """Server's first flight of a full handshake (RFC 5246 §7.3 Figure 1)."""
    out = ["S:ServerHello", "S:Certificate"]
    out += ["S:CertificateStatus"] * status + ["S:ServerKeyExchange"] * ske
    return out + ["S:CertificateRequest"] * cr + ["S:ServerHelloDone"]


def client_flight(client_cert: str | None = None) -> list[str]:
    out = ["C:Certificate"] if client_cert else []
    out.append("C:ClientKeyExchange")
    out += ["C:CertificateVerify"] if client_cert == "cert" else []
    return [*out, "C:ChangeCipherSpec", "C:Finished"]


def full(ticket: bool = True, client_cert: str | None = None, **server: bool) -> list[str]:
    """A whole full handshake; NewSessionTicket iff the server issues tickets (RFC 5077 §3.3)."""
    tail = ["S:NewSessionTicket"] * ticket + ["S:ChangeCipherSpec", "S:Finished"]
    return ["C:ClientHello", *hello_flight(**server), *client_flight(client_cert), *tail]


ABBREVIATED = ["C:ClientHello", "S:ServerHello", "S:ChangeCipherSpec", "S:Finished"]
ABBREVIATED += ["C:ChangeCipherSpec", "C:Finished"]  # RFC 5246 §7.3 Figure 2
CLOSE = ["C:Alert", "S:Alert"]


def renegotiation(keys: bool, ticket: bool = True) -> list[str]:
    """A client-initiated full renegotiation; without keys only each Finished after its CCS
    is named (the others are encrypted under the first handshake's keys)."""
    if keys:
        return full(ticket)
    server = [U] * 4  # ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
    tail = [U] * ticket + ["ChangeCipherSpec", "Finished"]
    return [f"C:{U}", *(f"S:{m}" for m in server), f"C:{U}", "C:ChangeCipherSpec", "C:Finished"] + [
        f"S:{m}" for m in tail
    ]


def seq(trace: Any) -> list[str]:
    return [f"{m['from'][0].upper()}:{m['type']}" for m in trace.messages]


def first(trace: Any, token: str, nth: int = 0) -> dict[str, Any]:
    return [m for m in trace.messages if seq_token(m) == token][nth]


def seq_token(message: dict[str, Any]) -> str:
    return f"{message['from'][0].upper()}:{message['type']}"


def server_hello(trace: Any, nth: int = 0) -> dict[str, Any]:
    return first(trace, "S:ServerHello", nth)


def settled(got: list[str], expected: list[str], racing: tuple[str, str] | None) -> bool:
    """``got == expected``, except that the ``racing[0]`` token may sit anywhere after the first
    ``racing[1]`` (a peer's alert answering a message while the other side's flight is still
    being written: both orders are legal and real peers produce both)."""
    if racing is None:
        return got == expected
    token, cause = racing
    others = [t for t in got if t != token]
    placed = token in got and cause in got and got.index(token) > got.index(cause)
    return placed and others == [t for t in expected if t != token]
