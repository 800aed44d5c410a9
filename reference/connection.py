"""The conforming endpoint, sans-IO: bytes in, events and bytes out, one state at a time.

Rules of this module (the role modules ``client.py`` and ``server.py`` follow them too):

- The ordering policy is written here in the reference's own terms — it reads nothing from the
  model. Each role has a small ``State`` enum and a table ``state -> {message class: handler}``.
  A message whose class is not in the current state's row is ``unexpected_message`` (RFC 5246
  §7.2.2), except that a state marked *optional* (a message that may be omitted, e.g.
  CertificateRequest) passes the message on to the state that follows it. ChangeCipherSpec is
  dispatched through the same table, keyed by its class.
- A handler validates one message, does its cryptography through the engine, sends what the
  protocol says to send next, and returns the next state. Any ``TLSAlert`` raised anywhere
  on input becomes that fatal alert on the wire; the connection then refuses to go on.
- Application data is accepted only after a completed handshake and never between the peer's
  ChangeCipherSpec and its Finished (§7.4.9; during a renegotiation it keeps flowing).
- Faults (``faults.py``) are explicit branches at the one place each deviates.

No sockets, threads or clocks: ``receive_data`` processes everything it can at once and queues
events; ``data_to_send`` hands out what the engine queued.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar

from tlsmodel.reference import engine as eng
from tlsmodel.reference import events as ev
from tlsmodel.reference.alerts import AlertDescription, AlertLevel, TLSAlert
from tlsmodel.reference.codec import ChangeCipherSpec, HandshakeMessage
from tlsmodel.reference.faults import Fault
from tlsmodel.reference.trace import alert_entry, handshake_entry, simple_entry

Handler = Callable[[Any, Any], Enum]
Table = dict[Enum, dict[type, Handler]]


class ConnectionStateError(Exception):
    """The *local* user asked for something the connection cannot do now (never on the wire)."""


def unexpected(what: str, state: Enum) -> TLSAlert:
    """The §7.2.2 alert for a message that is not allowed where it arrived."""
    return TLSAlert(AlertDescription.unexpected_message, f"{what} in state {state.name}")


class Connection(ABC):
    """What both roles share: input dispatch, alerts, application data, close_notify, the log."""

    role: ClassVar[str]
    peer: ClassVar[str]
    _engine_role: ClassVar[eng.Role]
    _TABLE: ClassVar[Table]
    _OPTIONAL: ClassVar[frozenset[Enum]] = frozenset()

    def __init__(self, faults: frozenset[Fault]) -> None:
        self._engine = eng.Engine(self._engine_role)
        self._faults = faults
        self._events: deque[ev.Event] = deque()
        self.log: list[ev.LoggedMessage] = []
        self._state: Enum = self._initial_state()
        self._dead = False
        self._sent_close = False
        self._established = False  # some handshake on this connection has completed
        self._renegotiation_asked = False
        # SSLKEYLOGFILE lines, one per completed handshake: lets tshark decrypt a capture.
        self.keylog: list[str] = []

    # --- what a role defines ---------------------------------------------------------------

    @abstractmethod
    def _initial_state(self) -> Enum:
        """The state before the first message."""

    @abstractmethod
    def _skip(self, state: Enum) -> Enum:
        """The state after an optional ``state`` whose message did not come."""

    def _optional(self, state: Enum) -> bool:
        """Whether the message of ``state`` may be omitted (faults may widen this)."""
        return state in self._OPTIONAL

    @abstractmethod
    def _reading_finished(self) -> bool:
        """True between the peer's ChangeCipherSpec and its Finished."""

    @abstractmethod
    def _on_renegotiation_declined(self) -> None:
        """A warning no_renegotiation answered our request to renegotiate."""

    @abstractmethod
    def _on_failure(self) -> None:
        """The connection died; e.g. the server forgets the session (§7.2)."""

    # --- public API ------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Nothing more will be processed: a fatal alert either way, or close_notify seen."""
        return self._dead

    @property
    def handshake_complete(self) -> bool:
        """A handshake has completed (a renegotiation may be running)."""
        return self._established

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the transport; ``b""`` means the transport ended."""
        if self._dead:
            return
        if not data:
            self._dead = True
            self._events.append(ev.PeerClosed(clean=False))
            return
        self._engine.receive_data(data)
        while not self._dead:
            try:
                event = self._engine.next_event()
                if event is None:
                    return
                self._dispatch(event)
            except TLSAlert as alert:
                self._fail(alert)

    def next_event(self) -> ev.Event | None:
        """The next event, or None when more input is needed."""
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> bytes:
        """Bytes to write to the transport, in order."""
        return self._engine.data_to_send()

    def send_application_data(self, data: bytes) -> None:
        """Queue application data (split into records by the engine)."""
        if self._dead or self._sent_close:
            raise ConnectionStateError("connection is closed")
        if not self._established:
            raise ConnectionStateError("handshake not complete")
        self._engine.send_application_data(data)
        self._log_application_data(self.role)

    def close(self) -> None:
        """Send close_notify (§7.2.1); further input is still read until the peer's."""
        if self._dead or self._sent_close:
            return
        self._send_alert(AlertDescription.close_notify, AlertLevel.warning)
        self._sent_close = True

    # --- dispatch --------------------------------------------------------------------------

    def _dispatch(self, event: object) -> None:
        if isinstance(event, eng.HandshakeReceived):
            self.log.append(self._received_entry(event.message))
            self._handle(event.message)
        elif isinstance(event, eng.ChangeCipherSpecReceived):
            self.log.append(simple_entry(self.peer, "ChangeCipherSpec"))
            self._handle(ChangeCipherSpec())
        elif isinstance(event, eng.AlertReceived):
            self.log.append(alert_entry(self.peer, event.level, event.description))
            self._on_alert(event.level, event.description)
        elif isinstance(event, eng.ApplicationDataReceived):
            self._log_application_data(self.peer)
            early = not self._established or self._reading_finished()
            if early and Fault.EARLY_APPLICATION_DATA not in self._faults:
                raise unexpected("ApplicationData", self._state)
            self._events.append(ev.ApplicationData(data=event.data))

    def _log_application_data(self, sender: str) -> None:
        """Consecutive application data from one sender is one log entry: the order is all
        a trace needs, and the log stays bounded however much data flows."""
        last = self.log[-1] if self.log else None
        if last is None or last.type != "ApplicationData" or last.sender != sender:
            self.log.append(simple_entry(sender, "ApplicationData"))

    def _received_entry(self, message: HandshakeMessage) -> ev.LoggedMessage:
        return handshake_entry(self.peer, message)

    def _handle(self, message: object) -> None:
        """Find the handler for ``message`` from the current state, passing optional states."""
        state = self._state
        while True:
            handler = self._TABLE.get(state, {}).get(type(message))
            if handler is not None:
                self._state = state
                self._state = handler(self, message)
                return
            if not self._optional(state):
                raise unexpected(type(message).__name__, self._state)
            state = self._skip(state)

    def _on_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        if description is AlertDescription.close_notify:
            if not self._sent_close:
                self.close()
            self._dead = True
            self._events.append(ev.PeerClosed(clean=True))
        elif level is AlertLevel.fatal:
            self._dead = True
            self._on_failure()
            self._events.append(
                ev.Failed(
                    description=description.name, reason="fatal alert from peer", by_peer=True
                )
            )
        elif description is AlertDescription.no_renegotiation and self._renegotiation_asked:
            self._renegotiation_asked = False
            self._on_renegotiation_declined()
            self._events.append(ev.RenegotiationDeclined())
        else:
            self._events.append(ev.AlertReceived(description=description.name))

    # --- sending helpers for the roles -----------------------------------------------------

    def _send(self, message: HandshakeMessage, *, resumed: bool = False) -> None:
        self._engine.send_handshake(message)
        self.log.append(handshake_entry(self.role, message, resumed=resumed))

    def _send_ccs(self) -> None:
        self._engine.send_change_cipher_spec()
        self.log.append(simple_entry(self.role, "ChangeCipherSpec"))

    def _send_finished(self) -> None:
        self._send_ccs()
        self._send(self._engine.finished())

    def _send_alert(self, description: AlertDescription, level: AlertLevel) -> None:
        self._engine.send_alert(description, level)
        self.log.append(alert_entry(self.role, level, description))

    def _handshake_done(self, complete: ev.HandshakeComplete) -> None:
        """Report a completed (re)handshake and remember its key log line."""
        line = self._engine.keylog_line()
        if line is not None:
            self.keylog.append(line)
        self._established = True
        self._renegotiation_asked = False
        self._events.append(complete)

    def _fail(self, alert: TLSAlert) -> None:
        """Send the fatal alert, report it, and stop (RFC 5246 §7.2.2)."""
        if self._dead:
            return
        self._send_alert(alert.description, AlertLevel.fatal)
        self._dead = True
        self._on_failure()
        self._events.append(
            ev.Failed(description=alert.description.name, reason=alert.message, by_peer=False)
        )

    def _fail_locally(self, alert: TLSAlert) -> None:
        """For role code outside ``receive_data`` (e.g. starting a handshake)."""
        self._fail(alert)
