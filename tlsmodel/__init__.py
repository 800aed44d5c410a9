"""tlsmodel: the executable, machine-checked reference for TLS 1.2 handshake orderings.

Sub-packages (sources live in the top-level folders of the repository):
``tlsmodel.model`` (the tables), ``tlsmodel.proofs`` (z3), ``tlsmodel.reference`` (a sans-IO
TLS 1.2 implementation), ``tlsmodel.oracle`` (conformance checking of captures) and
``tlsmodel.diagrams`` (graphviz renderings).
"""

__version__ = "0.1.0"
