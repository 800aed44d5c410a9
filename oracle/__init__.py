"""The conformance oracle: judge captured handshakes of other implementations against the model.

Embed it in your own tests: ``Checker().feed(message)`` answers ``OK`` / ``COMPLETE`` /
``Deviation`` per message, ``finish()`` gives the trace's verdict; ``check(messages)`` does a
whole trace. To check what your implementation produced as a file, ``load_traces(path)`` reads a
pcap/pcapng capture (with ``keylog=``), an ``openssl -msg``/``-trace`` log or JSON Lines, one
``Trace`` (or ``InputError``) per connection, and ``judge(trace, source)`` gives the oracle's
finding on one of them (verdict plus the reader's notes, ``unsupported`` for TLS 1.3).

Modules: ``judge`` (verdicts and reports), ``junit`` (JUnit XML), ``cli`` (``tlsmodel oracle``),
``inputs`` (format detection, one entry point), ``pcap`` (tshark), ``openssl_log`` /
``openssl_trace`` (``-msg`` / ``-trace`` output), ``records`` (what every reader shares),
``iana`` (extension names).
"""

from tlsmodel.model.checker import COMPLETE, OK, Checker, Deviation, TraceVerdict, check
from tlsmodel.model.trace import Trace, TraceError, read_jsonl
from tlsmodel.oracle.inputs import load, load_traces
from tlsmodel.oracle.judge import Judgement, judge
from tlsmodel.oracle.records import InputError

__all__ = [
    "COMPLETE",
    "OK",
    "Checker",
    "Deviation",
    "InputError",
    "Judgement",
    "Trace",
    "TraceError",
    "TraceVerdict",
    "check",
    "judge",
    "load",
    "load_traces",
    "read_jsonl",
]
