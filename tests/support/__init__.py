"""Test support shared by every area's tests: a generated PKI and real-peer helpers.

Import as ``from support import peers, pki`` (pytest puts ``tests/`` on ``sys.path``):
``pki`` (throw-away CA and certificates), ``peers`` (OpenSSL, GnuTLS in a private network
namespace, tshark captures; all bounded and stopped), ``pcapgen`` (pcap files written from
real connections' bytes), ``flows`` (expected message sequences written from the RFCs).
See /work/team/peers-api.md for the functions and how to use them.
"""
