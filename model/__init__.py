"""The TLS 1.2 handshake model: message orderings as tables (``tables``), read by every tool.

Start with ``tables`` (the rows, each citing its RFC section), then ``machine`` (how rows are
evaluated), ``checker`` (the streaming checker) and ``trace`` (the JSONL trace format).
This package imports nothing heavy: z3 belongs to ``tlsmodel.proofs``.
"""
