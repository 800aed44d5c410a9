"""The trace format shared by every tool: JSON Lines, one connection a line.

``{"id": "...", "messages": [{"from": "client"|"server", "type": "<name>", ...attributes}]}``

Message names are those of ``alphabet``. The attributes that decide the order are
ServerHello ``cipher_suite`` (IANA name or hex code such as ``"0xc02f"``), ``resumed`` (bool),
``extensions`` (list of IANA names); Certificate ``empty`` and ``fixed_dh`` (bools); Alert
``level`` (warning|fatal) and ``description`` (IANA name). An absent attribute means *unknown*:
the checker then follows every branch the model allows and reports what it had to assume.
The type ``"unknown-encrypted"`` stands for an encrypted handshake message whose type a capture
without keys cannot tell; ``"unknown-handshake"`` (with its ``code``) for a handshake type that
TLS 1.2 does not define — always a deviation. Other keys are carried along untouched (tools
may add their own).

This module turns a message into the model's *key* (``machine`` docstring) and reports malformed
input as ``TraceError`` — bad input, not a protocol deviation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tlsmodel.model.alphabet import ALERT_LEVELS, ALERTS, MESSAGE_TYPES, SENDERS, alert_kind
from tlsmodel.model.machine import SYMBOL_ATTRIBUTES, Symbol
from tlsmodel.model.suites import lookup_suite

UNKNOWN_ENCRYPTED: Final = "unknown-encrypted"
UNKNOWN_HANDSHAKE: Final = "unknown-handshake"  # a handshake type outside TLS 1.2 (with "code")


class TraceError(ValueError):
    """A trace or message that does not follow the trace format (bad input, exit code 2)."""


@dataclass(frozen=True, slots=True)
class Trace:
    """One connection: its id and its messages in capture order (dicts in the trace format)."""

    id: str
    messages: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)


# Keys of messages that carry no ordering attribute, prebuilt: most messages of a trace.
PLAIN_KEYS: Final[dict[tuple[str, str], Symbol]] = {
    (sender, message): (sender, message)
    for message in MESSAGE_TYPES
    if message not in SYMBOL_ATTRIBUTES
    for sender in SENDERS
}
PLAIN_KEYS.update({(s, UNKNOWN_ENCRYPTED): (s, None) for s in SENDERS})
PLAIN_KEYS.update({(s, UNKNOWN_HANDSHAKE): (s, UNKNOWN_HANDSHAKE) for s in SENDERS})
_EXTENSION_FLAGS: Final = ("session_ticket", "status_request", "renegotiation_info")


def _bool(message: Mapping[str, Any], name: str) -> bool | None:
    value = message.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise TraceError(f"{message.get('type')}.{name} must be true or false, not {value!r}")


def message_key(message: Mapping[str, Any]) -> Symbol:
    """The model's key for one trace message; ``TraceError`` if it is malformed."""
    try:
        sender = message["from"]
        kind = message["type"]
    except KeyError as missing:
        raise TraceError(f"message without {missing.args[0]!r}") from None
    except TypeError:
        raise TraceError(f"a message must be an object, not {message!r}") from None
    plain = PLAIN_KEYS.get((sender, kind))
    if plain is not None:
        return plain
    if sender not in SENDERS:
        raise TraceError(f"'from' must be 'client' or 'server', not {sender!r}")
    if kind == "ServerHello":
        suite = message.get("cipher_suite")
        family = None
        if suite is not None:
            if not isinstance(suite, str):
                raise TraceError(f"ServerHello.cipher_suite must be a string, not {suite!r}")
            try:
                family = lookup_suite(suite).family
            except KeyError as err:
                raise TraceError(err.args[0]) from None
        extensions = message.get("extensions")
        if extensions is None:
            flags: tuple[bool | None, ...] = (None, None, None)
        elif isinstance(extensions, list) and all(isinstance(e, str) for e in extensions):
            flags = tuple(name in extensions for name in _EXTENSION_FLAGS)
        else:
            raise TraceError(f"ServerHello.extensions must be a list of names, not {extensions!r}")
        return (sender, kind, family, _bool(message, "resumed"), *flags)
    if kind == "Certificate":
        return (sender, kind, _bool(message, "empty"), _bool(message, "fixed_dh"))
    if kind == "Alert":
        level = message.get("level")
        if level is not None and level not in ALERT_LEVELS:
            raise TraceError(f"Alert.level must be 'warning' or 'fatal', not {level!r}")
        description = message.get("description")
        if description is not None and description not in ALERTS:
            raise TraceError(f"unknown alert description {description!r} (IANA names)")
        return (sender, kind, level, None if description is None else alert_kind(description))
    raise TraceError(f"unknown message type {kind!r}")


def describe(message: Mapping[str, Any]) -> str:
    """A short human form of a message: ``server ServerHello(cipher_suite=…, resumed=false)``."""
    attrs = [f"{k}={json.dumps(v)}" for k, v in message.items() if k not in ("from", "type")]
    inner = f"({', '.join(attrs)})" if attrs else ""
    return f"{message.get('from')} {message.get('type')}{inner}"


def parse_line(text: str) -> Trace:
    """One JSONL line to a Trace; ``TraceError`` for anything but the trace format."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise TraceError(f"not JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(obj, dict):
        raise TraceError(f"a trace line must be a JSON object, not {type(obj).__name__}")
    messages = obj.get("messages")
    if not isinstance(messages, list):
        raise TraceError("a trace needs a 'messages' list")
    trace_id = obj.get("id")
    if not isinstance(trace_id, str | int):
        raise TraceError("a trace needs an 'id' (string)")
    extra = {k: v for k, v in obj.items() if k not in ("id", "messages")}
    return Trace(str(trace_id), messages, extra)


def read_jsonl(lines: Iterator[str] | list[str]) -> Iterator[tuple[int, Trace | TraceError]]:
    """Yield (line number, Trace or the TraceError of that line); blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_line(line)
        except TraceError as err:
            yield number, err


def dump(trace: Trace) -> str:
    """A Trace as one JSONL line (compact, key order kept)."""
    return json.dumps(
        {"id": trace.id, **trace.extra, "messages": trace.messages}, separators=(",", ":")
    )


# Alert descriptions that stand for each abstract kind when a symbol becomes a message.
_KIND_DESCRIPTION: Final = {
    ("warning", "close_notify"): "close_notify",
    ("fatal", "close_notify"): "close_notify",
    ("warning", "no_renegotiation"): "no_renegotiation",
    ("fatal", "no_renegotiation"): "no_renegotiation",
    ("warning", "other"): "user_canceled",
    ("fatal", "other"): "certificate_expired",
    ("warning", "fatal_only"): "handshake_failure",
    ("fatal", "fatal_only"): "handshake_failure",
}
_EXTENSION_OF_FLAG: Final = dict(zip(("ticket", "status", "ri"), _EXTENSION_FLAGS, strict=True))


def symbol_message(symbol: Symbol, suite: str | None = None) -> dict[str, Any]:
    """A concrete symbol as a trace message (the inverse of ``message_key`` on symbols).

    ``suite`` names the ServerHello's cipher suite; by default the family's representative.
    """
    from tlsmodel.model.suites import REPRESENTATIVE

    sender, kind = str(symbol[0]), str(symbol[1])
    message: dict[str, Any] = {"from": sender, "type": kind}
    if kind == "ServerHello":
        family, resumed, *flags = symbol[2:]
        message["cipher_suite"] = suite or REPRESENTATIVE[str(family)].name
        message["resumed"] = resumed
        message["extensions"] = [
            _EXTENSION_OF_FLAG[name]
            for name, on in zip(("ticket", "status", "ri"), flags, strict=True)
            if on
        ]
    elif kind == "Certificate":
        message["empty"], message["fixed_dh"] = symbol[2], symbol[3]
    elif kind == "Alert":
        message["level"] = symbol[2]
        message["description"] = _KIND_DESCRIPTION[(str(symbol[2]), str(symbol[3]))]
    return message
