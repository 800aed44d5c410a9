"""How the capture readers build a trace, and ``InputError``, what they yield for unreadable input.

Why a shared builder: a pcap dissected by tshark and an ``openssl -msg`` log describe the same
thing (records and handshake messages, each with a sender), and the same few inferences turn
them into an issue-2 trace. Writing those inferences once keeps the readers to what is specific
to their input and guarantees both answer alike:

- *resumed*: a ServerHello resumes if it echoes the ClientHello's non-empty session ID, or if the
  server's next message is ChangeCipherSpec or NewSessionTicket (ticket acceptance, RFC 5077
  §3.4: an abbreviated handshake). It is left absent (unknown) only when the trace tells
  neither: no echo and nothing readable after the ServerHello.
- *undecryptable handshake records*: without keys, the first encrypted handshake record a
  sender sends after each of its ChangeCipherSpecs is its Finished (RFC 5246 §7.4.9: Finished is
  "always sent immediately after a change cipher spec message"); any later one is reported as
  ``{"type": "unknown-encrypted"}`` and counted, so the verdict can say why it is unsure.
- *unsupported*: the versions the ServerHello (or, lacking one, the ClientHello) negotiates
  decide whether the connection is TLS 1.2 at all; SSL 3.0, TLS 1.0/1.1 and TLS 1.3 are
  reported as unsupported, never judged.

The result is the project's one trace type, ``tlsmodel.model.trace.Trace``, whose messages are
plain dicts in the trace format (``{"from", "type", ...attributes}``) — what the JSONL reader
yields too, so the checker needs no second input path. What a capture adds travels in
``Trace.extra`` (JSON-serialisable, so ``trace.dump`` can write it out):

- ``source``: the file; ``locations``: per message, where it was seen (``"frame 8"``,
  ``"line 12"``);
- ``unsupported``: None for TLS 1.2, else why the connection is not judged (``"TLS 1.3"``);
- ``undecrypted``: how many messages could not be read (inferred Finished, unknown-encrypted,
  alerts without level/description); ``notes``: sentences a verdict may print about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tlsmodel.model.trace import UNKNOWN_ENCRYPTED, Trace
from tlsmodel.oracle.iana import TLS12, version_name

UNKNOWN_HANDSHAKE = "unknown-handshake"

# Server messages that can only follow a ServerHello of a full handshake (RFC 5246 §7.3 Fig. 1).
_FULL_HANDSHAKE_NEXT = frozenset(
    {"Certificate", "ServerKeyExchange", "CertificateRequest", "ServerHelloDone"}
)
_ABBREVIATED_NEXT = frozenset({"ChangeCipherSpec", "NewSessionTicket"})


@dataclass(frozen=True, slots=True)
class InputError:
    """A part of an input that could not be read: ``file: where: reason``.

    Readers yield it (after the traces they could still read) instead of raising, so that one
    bad frame or line never hides the connections before it."""

    source: str
    where: str | None
    reason: str

    def __str__(self) -> str:
        return ":".join(p for p in (self.source, self.where) if p) + f": {self.reason}"


@dataclass(slots=True)
class _Pending:
    """A message before roles are known: sender is an opaque key (an endpoint or a role)."""

    sender: str
    message: dict[str, Any]
    location: str
    session_id: str | None = None  # hellos only, hex
    versions: tuple[int, ...] = ()  # hellos only: legacy version, then supported_versions
    undecrypted: bool = False  # content inferred or partly unknown (no keys)


@dataclass(slots=True)
class ConnectionBuilder:
    """Collects one connection's messages in capture order and turns them into a ``Trace``.

    Senders are opaque keys (a capture reader uses ``ip:port``); ``finish`` learns which key is
    the client from the ClientHello (or ServerHello) and maps them to ``client``/``server``."""

    source: str
    _pending: list[_Pending] = field(default_factory=list)
    _encrypted: set[str] = field(default_factory=set)  # senders past their ChangeCipherSpec
    _awaiting_finished: set[str] = field(default_factory=set)
    _notes: list[str] = field(default_factory=list)

    def add(self, sender: str, type_: str, location: str, **attributes: Any) -> None:
        """A message whose content was read (a named handshake message, CCS, ApplicationData)."""
        # "from" holds the sender key until ``finish`` knows the roles (and stays the first key).
        self._pending.append(
            _Pending(sender, {"from": sender, "type": type_, **attributes}, location)
        )
        if type_ == "ChangeCipherSpec":
            self._encrypted.add(sender)
            self._awaiting_finished.add(sender)
        elif type_ == "Finished":
            self._awaiting_finished.discard(sender)

    def hello(
        self,
        sender: str,
        type_: str,
        location: str,
        session_id: str,
        versions: tuple[int, ...],
        **attributes: Any,
    ) -> None:
        """A ClientHello or ServerHello with what resumption and version checks need."""
        self.add(sender, type_, location, **attributes)
        self._pending[-1].session_id = session_id
        self._pending[-1].versions = versions

    def encrypted_handshake(self, sender: str, location: str) -> None:
        """A handshake record whose plaintext is unknown (no or wrong keys)."""
        if sender in self._awaiting_finished:
            self._awaiting_finished.discard(sender)
            message = {"from": sender, "type": "Finished"}
            self._pending.append(_Pending(sender, message, location, undecrypted=True))
        else:
            message = {"from": sender, "type": UNKNOWN_ENCRYPTED}
            self._pending.append(_Pending(sender, message, location))

    def alert(self, sender: str, location: str, level: str | None, description: str | None) -> None:
        """An Alert; level/description None when encrypted or unknown (then absent)."""
        attributes = {"level": level, "description": description}
        known = {k: v for k, v in attributes.items() if v is not None}
        message = {"from": sender, "type": "Alert", **known}
        partial = level is None or description is None
        self._pending.append(_Pending(sender, message, location, undecrypted=partial))

    def note(self, sentence: str) -> None:
        if sentence not in self._notes:
            self._notes.append(sentence)

    def client_key(self) -> str | None:
        """The sender key of the client, from the first ClientHello or ServerHello seen."""
        for item in self._pending:
            if item.message["type"] == "ClientHello":
                return item.sender
            if item.message["type"] == "ServerHello":
                other = {p.sender for p in self._pending} - {item.sender}
                return other.pop() if other else None
        return None

    def finish(self, trace_id: str, client: str | None) -> Trace:
        """Resolve roles and the inferences described in the module docstring."""
        unsupported = self._unsupported(client)
        messages: list[dict[str, Any]] = []
        undecrypted = inferred = unknown = 0
        for item in self._pending:
            item.message["from"] = "client" if item.sender == client else "server"
            messages.append(item.message)
            if item.message["type"] == UNKNOWN_ENCRYPTED:
                unknown += 1
            elif item.undecrypted:
                inferred += item.message["type"] == "Finished"
                undecrypted += 1
        self._resolve_resumption(messages)
        notes = list(self._notes)
        if inferred:
            notes.append(
                f"{inferred} encrypted handshake record(s) right after ChangeCipherSpec taken as "
                "Finished (no keys to read them)"
            )
        if unknown:
            notes.append(
                f"{unknown} later encrypted handshake record(s) could not be read: "
                f"reported as {UNKNOWN_ENCRYPTED} (give the key log to name them)"
            )
        if undecrypted - inferred:
            notes.append("encrypted alert(s): level and description unknown")
        extra = {
            "source": self.source,
            "locations": [item.location for item in self._pending],
            "unsupported": unsupported,
            "undecrypted": undecrypted + unknown,
            "notes": notes,
        }
        return Trace(trace_id, messages, extra)

    def _unsupported(self, client: str | None) -> str | None:
        if client is None:
            return "capture starts inside the connection (no ClientHello or ServerHello)"
        hellos = [p for p in self._pending if p.versions]
        server_hello = next((p for p in hellos if p.message["type"] == "ServerHello"), None)
        client_hello = next((p for p in hellos if p.message["type"] == "ClientHello"), None)
        if server_hello is not None:
            # RFC 8446 §4.2.1: supported_versions in a ServerHello overrides legacy_version.
            version = server_hello.versions[-1]
            return None if version == TLS12 else version_name(version)
        if client_hello is not None:
            legacy, offered = client_hello.versions[0], client_hello.versions[1:]
            if TLS12 in offered or (not offered and legacy >= TLS12):
                return None
            return f"ClientHello offers {version_name(max(offered or (legacy,)))} only"
        return None

    def _resolve_resumption(self, messages: list[dict[str, Any]]) -> None:
        client_sid = ""
        for index, (item, message) in enumerate(zip(self._pending, messages, strict=True)):
            if message["type"] == "ClientHello":
                client_sid = item.session_id or ""
            if message["type"] != "ServerHello":
                continue
            if client_sid and item.session_id == client_sid:
                message["resumed"] = True
                continue
            following = (m["type"] for m in messages[index + 1 :] if m["from"] == "server")
            after = next(following, None)
            if after in _ABBREVIATED_NEXT:
                message["resumed"] = True
            elif after in _FULL_HANDSHAKE_NEXT:
                message["resumed"] = False
