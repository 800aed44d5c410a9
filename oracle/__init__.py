"""The conformance oracle: judge captured handshakes of other implementations against the model."""
