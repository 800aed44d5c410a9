"""The conformance oracle: judge captured handshakes of other implementations against the model.

Embed it in your own tests: ``Checker().feed(message)`` answers ``OK`` / ``COMPLETE`` /
``Deviation`` per message, ``finish()`` gives the trace's verdict; ``check(messages)`` does a
whole trace; ``judge`` adds what the oracle reports about an input's source.
"""

from tlsmodel.model.checker import COMPLETE, OK, Checker, Deviation, TraceVerdict, check
from tlsmodel.model.trace import Trace, TraceError, read_jsonl

__all__ = [
    "COMPLETE",
    "OK",
    "Checker",
    "Deviation",
    "Trace",
    "TraceError",
    "TraceVerdict",
    "check",
    "read_jsonl",
]
