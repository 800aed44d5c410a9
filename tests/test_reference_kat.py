"""Known-answer tests for the reference key schedule and record protection.

Sources, none of them this project:
- PRF: the TLS 1.2 PRF test vectors posted to the IETF TLS WG list (msg03416), reproduced by
  many implementations' test suites (P_SHA256 100 bytes, P_SHA384 148 bytes).
- One complete real connection: "The Illustrated TLS 1.2 Connection" (tls12.xargs.org, made
  with Go's crypto/tls, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA over x25519, fixed randomness):
  x25519 pre-master, master secret (also in its SSLKEYLOGFILE), key block, both Finished
  verify_data values and the exact protected records of both sides.
- EMS (RFC 7627) and the non-EMS master secret: OpenSSL's own key log for a handshake the
  engine makes with ``openssl s_server`` (an independent computation of the same secret).
- RFC 7919 groups: OpenSSL's built-in ffdhe2048/ffdhe3072.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import reference_driver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh, x25519
from support import peers, pki
from tlsmodel.reference import protection
from tlsmodel.reference.alerts import AlertDescription, TLSAlert
from tlsmodel.reference.codec import NamedGroup, ServerECDHParams
from tlsmodel.reference.keyexchange import FFDHE_PRIMES, ECDHEKeyExchange
from tlsmodel.reference.keys import (
    CLIENT_FINISHED,
    SERVER_FINISHED,
    key_material,
    master_secret,
    prf,
    verify_data,
)
from tlsmodel.reference.protection import CBCProtection
from tlsmodel.reference.suites import suite_by_name


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


def test_prf_sha256_vector() -> None:
    out = prf(
        "sha256",
        h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
        b"test label",
        h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
        100,
    )
    assert out == h(
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
        "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66"
    )


def test_prf_sha384_vector() -> None:
    out = prf(
        "sha384",
        h("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df"),
        b"test label",
        h("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65"),
        148,
    )
    assert out == h(
        "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82"
        "b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473"
        "ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9"
        "aee691c8f3a26854308d5eaa3be85e0990703d73e56f"
    )


# --- The Illustrated TLS 1.2 Connection (ECDHE-RSA-AES128-SHA, x25519) -----------------
CLIENT_RANDOM = bytes(range(0x00, 0x20))
SERVER_RANDOM = bytes(range(0x70, 0x90))
CLIENT_X25519_PRIVATE = bytes(range(0x20, 0x40))
SERVER_X25519_PUBLIC = h("9fd7ad6dcff4298dd3f96d5b1b2af910a0535b1488d7f8fabb349a982880b615")
CLIENT_X25519_PUBLIC = h("358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254")
PRE_MASTER = h("df4a291baa1eb7cfa6934b29b474baad2697e29f1f920dcc77c8a0a088447624")
MASTER = h(
    "916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049"
    "781c8e19fc1eb2a7387ac06ae237344c"
)
SUITE = suite_by_name("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
# (IV, ciphertext, content type, expected plaintext), in sequence order 0, 1, 2.
CLIENT_RECORDS = [
    (
        bytes(range(0x40, 0x50)),
        h(
            "227bc9ba81ef30f2a8a78ff1df50844d5804b7eeb2e214c32b6892aca3db7b78"
            "077fdd90067c516bacb3ba90dedf720f"
        ),
        22,
        h("1400000c cf919626f1360c536aaad73a"),
    ),
    (
        bytes(range(0x00, 0x10)),
        h("6c421c71c42b183bfa06195d133d0a09d00fc7cb4e0f5d1cda59d147ec790c99"),
        23,
        b"ping",
    ),
    (
        bytes(range(0x10, 0x20)),
        h("0d83f97904750dd8fd8aa13021863263 4fd065e4628379b88bbf9efd1287a62d"),
        21,
        b"\x01\x00",
    ),
]
SERVER_RECORDS = [
    (
        bytes(range(0x51, 0x61)),
        h(
            "18e075317b100315f6081fcbf313781aac73efe19fe25ba1af59c20be94fc01b"
            "da2d6800298b73a7e849d74bd494cf7d"
        ),
        22,
        h("1400000c 844d3c10746dd722f92f0c7e"),
    ),
    (
        bytes(range(0x61, 0x71)),
        h("9783488af5fa20bf7a2ef69debb534db9fb07a8c2721dee5409f77af0c3dde56"),
        23,
        b"pong",
    ),
]


def test_illustrated_x25519_pre_master() -> None:
    """The engine's ECDHE client, with the page's fixed ephemeral key, gets its pre-master."""
    kx = ECDHEKeyExchange(
        private_key=x25519.X25519PrivateKey.from_private_bytes(CLIENT_X25519_PRIVATE)
    )
    kx.process_server_params(ServerECDHParams(NamedGroup.x25519, SERVER_X25519_PUBLIC))
    message, pre_master = kx.client_key_exchange()
    assert message.point == CLIENT_X25519_PUBLIC  # type: ignore[union-attr]
    assert pre_master == PRE_MASTER


def test_illustrated_master_secret_and_key_block() -> None:
    assert master_secret("sha256", PRE_MASTER, CLIENT_RANDOM, SERVER_RANDOM) == MASTER
    keys = key_material(SUITE, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    assert keys.client_write_mac_key == h("1b7d117c7d5f690bc263cae8ef60af0f1878acc2")
    assert keys.server_write_mac_key == h("2ad8bdd8c601a617126f63540eb20906f781fad2")
    assert keys.client_write_key == h("f656d037b173ef3e11169f27231a84b6")
    assert keys.server_write_key == h("752a18e7a9fcb7cbcdd8f98dd8f769eb")
    # RFC 5246 §6.3: TLS 1.2 CBC suites have no implicit IV in the key block.
    assert keys.client_write_iv == keys.server_write_iv == b""


def test_illustrated_finished_verify_data() -> None:
    client_hash = h("061dda04b3c2217ff73bd79b9cf88a2bb6ec505404aac8722db03ef417b54cb4")
    server_hash = h("b2017ba28d0e27f03ae327456b6ff00b4d5bbf0ef7cda83ce1029b521c3e7c35")
    assert verify_data("sha256", MASTER, CLIENT_FINISHED, client_hash) == h(
        "cf919626f1360c536aaad73a"
    )
    assert verify_data("sha256", MASTER, SERVER_FINISHED, server_hash) == h(
        "844d3c10746dd722f92f0c7e"
    )


@pytest.mark.parametrize("side", ["client", "server"])
def test_illustrated_cbc_records_decrypt(side: str) -> None:
    """MAC-then-encrypt CBC (RFC 5246 §6.2.3.2) against Go's records, sequence numbers 0.."""
    keys = key_material(SUITE, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    key, mac_key = (
        (keys.client_write_key, keys.client_write_mac_key)
        if side == "client"
        else (keys.server_write_key, keys.server_write_mac_key)
    )
    records = CLIENT_RECORDS if side == "client" else SERVER_RECORDS
    reader = CBCProtection(key, mac_key, "sha1", encrypt_then_mac=False)
    for iv, ciphertext, content_type, plaintext in records:
        assert reader.decrypt(content_type, 0x0303, iv + ciphertext) == plaintext


def test_illustrated_cbc_records_encrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the page's IVs, our encryption reproduces Go's records byte for byte."""
    keys = key_material(SUITE, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    writer = CBCProtection(
        keys.client_write_key, keys.client_write_mac_key, "sha1", encrypt_then_mac=False
    )
    ivs = iter(iv for iv, *_ in CLIENT_RECORDS)
    monkeypatch.setattr(protection.os, "urandom", lambda n: next(ivs))
    for iv, ciphertext, content_type, plaintext in CLIENT_RECORDS:
        assert writer.encrypt(content_type, 0x0303, plaintext) == iv + ciphertext


def test_illustrated_record_with_wrong_sequence_is_bad_record_mac() -> None:
    keys = key_material(SUITE, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    reader = CBCProtection(
        keys.client_write_key, keys.client_write_mac_key, "sha1", encrypt_then_mac=False
    )
    iv, ciphertext, content_type, _ = CLIENT_RECORDS[1]  # sequence 1 read as sequence 0
    with pytest.raises(TLSAlert) as caught:
        reader.decrypt(content_type, 0x0303, iv + ciphertext)
    assert caught.value.description is AlertDescription.bad_record_mac


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@pytest.mark.parametrize("group", [NamedGroup.ffdhe2048, NamedGroup.ffdhe3072])
def test_ffdhe_primes_match_openssl(group: NamedGroup, tmp_path: Path) -> None:
    """Our primes come from the RFC 7919 Appendix A formula; OpenSSL ships the constants."""
    pem = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{group.name}"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    params = serialization.load_pem_parameters(pem)  # FFDH API: deprecated, still needed
    assert isinstance(params, dh.DHParameters)
    numbers = params.parameter_numbers()
    assert numbers.p == FFDHE_PRIMES[group] and numbers.g == 2


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(tmp_path_factory.mktemp("pki"))


def _keylog_master(path: Path, client_random: bytes) -> bytes:
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "CLIENT_RANDOM" and parts[1] == client_random.hex():
            return bytes.fromhex(parts[2])
    raise AssertionError(f"no CLIENT_RANDOM line for this connection in {path}")


@pytest.mark.network
@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
def test_master_secret_matches_openssl_keylog(
    ems: bool, test_pki: pki.TestPKI, tmp_path: Path
) -> None:
    """RFC 7627 EMS (and, offered-off, the RFC 5246 §8.1 master secret) agree with OpenSSL's
    key log of the same handshake."""
    keylog = tmp_path / "keylog.txt"
    suite = suite_by_name("ECDHE-RSA-AES128-GCM-SHA256")
    with peers.openssl_server(
        test_pki, tmp_path, cipher=suite.openssl, no_ticket=True, keylog=keylog
    ) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            engine = reference_driver.handshake(sock, suite, ems=ems)
        srv.wait(5)
    assert engine.extended_master_secret is ems
    assert engine.master_secret == _keylog_master(keylog, engine.client_random)
    assert engine.keylog_line() in keylog.read_text().splitlines()
