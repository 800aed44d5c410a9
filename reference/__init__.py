"""The reference TLS 1.2 implementation: an independent second formalization, as real code.

It imports nothing from ``model``, ``proofs`` or ``oracle`` (a test enforces that), so a
mistake on either side shows up as a disagreement in the differential tests.

Two layers:

- **Engine** (no policy): ``alerts`` (the one error type, ``TLSAlert``), ``wire``/``registry``/
  ``extensions``/``kxmessages``/``codec`` (strict message codecs), ``record`` (framing,
  fragmentation, reassembly), ``protection`` (AEAD and CBC record protection), ``keys`` (PRF,
  master secret, EMS, key block, Finished, transcript), ``suites``, ``signatures``,
  ``keyexchange`` and ``engine`` (builds and reads any message in any order with the
  cryptography of the path taken so far).
- **Connection** (the conforming endpoint): ``connection``, ``client``, ``server`` and their
  configuration, sessions and tickets, certificates, faults, sockets and the CLI.
"""
