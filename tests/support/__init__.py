"""Test support shared by every area's tests: a generated PKI and real-peer helpers.

Import as ``from support import peers, pki`` (pytest puts ``tests/`` on ``sys.path``).
See /work/team/peers-api.md for the functions and how to use them.
"""
