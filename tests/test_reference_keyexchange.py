"""Key exchange and signature rules, each with the RFC clause it implements."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from tlsmodel.reference.alerts import AlertDescription, TLSAlert
from tlsmodel.reference.codec import (
    ClientDHPublic,
    ClientECDHPublic,
    DigitallySigned,
    EncryptedPreMasterSecret,
    NamedGroup,
    ServerDHParams,
    ServerECDHParams,
    SignatureScheme,
)
from tlsmodel.reference.keyexchange import (
    FFDHE_PRIMES,
    DHEKeyExchange,
    ECDHEKeyExchange,
    RSAKeyExchange,
)
from tlsmodel.reference.signatures import OFFERED_SCHEMES, choose_scheme, sign, verify

D = AlertDescription


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _alert(call: Callable[..., object], *args: object) -> AlertDescription:
    """The alert ``call(*args)`` raises (failing the test if it raises none)."""
    with pytest.raises(TLSAlert) as caught:
        call(*args)
    return caught.value.description


def test_rsa_round_trip_and_client_version(rsa_key: rsa.RSAPrivateKey) -> None:
    client = RSAKeyExchange(server_public_key=rsa_key.public_key(), client_version=0x0303)
    message, pre_master = client.client_key_exchange()
    assert len(pre_master) == 48 and pre_master[:2] == b"\x03\x03"
    server = RSAKeyExchange(private_key=rsa_key, client_version=0x0303)
    assert server.process_client_key_exchange(message) == pre_master


@pytest.mark.parametrize("case", ["garbage", "short plaintext", "wrong version"])
def test_rsa_countermeasure_never_fails_early(rsa_key: rsa.RSAPrivateKey, case: str) -> None:
    """RFC 5246 §7.4.7.1: bad padding, wrong length and wrong version all yield a random
    48-byte pre-master — no alert, no distinguishable result (the Finished fails later)."""
    public = rsa_key.public_key()
    ciphertext = {
        "garbage": bytes(255) + b"\x01",
        "short plaintext": public.encrypt(b"\x03\x03" + bytes(10), padding.PKCS1v15()),
        "wrong version": public.encrypt(b"\x03\x01" + bytes(46), padding.PKCS1v15()),
    }[case]
    server = RSAKeyExchange(private_key=rsa_key, client_version=0x0303)
    first = server.process_client_key_exchange(EncryptedPreMasterSecret(ciphertext))
    second = server.process_client_key_exchange(EncryptedPreMasterSecret(ciphertext))
    assert len(first) == len(second) == 48 and first != second
    assert first != b"\x03\x01" + bytes(46)


def test_dhe_round_trip_both_groups() -> None:
    for group in (NamedGroup.ffdhe2048, NamedGroup.ffdhe3072):
        server, client = DHEKeyExchange(group), DHEKeyExchange()
        client.process_server_params(server.server_params())
        message, pre_master = client.client_key_exchange()
        assert server.process_client_key_exchange(message) == pre_master
        assert pre_master[:1] != b"\x00"  # RFC 5246 §8.1.2: leading zero bytes stripped


def test_dhe_refuses_small_groups_and_bad_public_values() -> None:
    """RFC 7919 §3/§4: < 2048-bit groups -> insufficient_security; RFC 7919 §5.1 checks."""
    p2048 = FFDHE_PRIMES[NamedGroup.ffdhe2048]
    small = (2**1023 + 1).to_bytes(128, "big")
    assert (
        _alert(DHEKeyExchange().process_server_params, ServerDHParams(small, b"\x02", b"\x05"))
        is D.insufficient_security
    )
    p = p2048.to_bytes(256, "big")
    for ys in (1, p2048 - 1, p2048, p2048 - 2):  # p-2 lies outside the prime-order subgroup
        params = ServerDHParams(p, b"\x02", ys.to_bytes(256, "big"))
        assert _alert(DHEKeyExchange().process_server_params, params) is D.illegal_parameter
    server = DHEKeyExchange(NamedGroup.ffdhe2048)
    assert (
        _alert(server.process_client_key_exchange, ClientDHPublic(b"\x01")) is D.illegal_parameter
    )


@pytest.mark.parametrize("group", [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_ecdhe_round_trip(group: NamedGroup) -> None:
    server, client = ECDHEKeyExchange(group), ECDHEKeyExchange()
    client.process_server_params(server.server_params())
    message, pre_master = client.client_key_exchange()
    assert server.process_client_key_exchange(message) == pre_master


def test_ecdhe_rejects_bad_points() -> None:
    """RFC 8422 §5.11 (X25519 all-zero result), uncompressed points only, points on the curve."""
    for params in (
        ServerECDHParams(NamedGroup.x25519, bytes(32)),  # low-order point: all-zero secret
        ServerECDHParams(NamedGroup.x25519, bytes(31)),
        ServerECDHParams(NamedGroup.secp256r1, b"\x02" + bytes(32)),  # compressed
        ServerECDHParams(NamedGroup.secp256r1, b"\x04" + bytes(64)),  # not on the curve
        ServerECDHParams(25, b"\x04" + bytes(132)),  # secp521r1: not implemented
    ):

        def run(params: ServerECDHParams = params) -> None:
            kx = ECDHEKeyExchange()
            kx.process_server_params(params)
            kx.client_key_exchange()

        assert _alert(run) is D.illegal_parameter
    server = ECDHEKeyExchange(NamedGroup.secp256r1)
    server.server_params()
    assert (
        _alert(server.process_client_key_exchange, ClientECDHPublic(b"\x04" + bytes(64)))
        is D.illegal_parameter
    )


def test_signature_schemes(rsa_key: rsa.RSAPrivateKey) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for key in (rsa_key, ec_key):
        for scheme in (
            *OFFERED_SCHEMES,
            SignatureScheme.rsa_pkcs1_sha1,
            SignatureScheme.ecdsa_sha1,
        ):
            family_ok = ("rsa" in scheme.name) == isinstance(key, rsa.RSAPrivateKey)
            if not family_ok:
                continue
            signed = sign(key, scheme, b"params")
            allowed = (*OFFERED_SCHEMES, SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1)
            verify(key.public_key(), signed, b"params", allowed)
            assert _alert(verify, key.public_key(), signed, b"other", allowed) is D.decrypt_error
    signed = sign(ec_key, SignatureScheme.ecdsa_secp256r1_sha256, b"x")
    # Not offered, or not fitting the certificate's key: illegal_parameter (RFC 5246 §7.4.3).
    assert _alert(verify, ec_key.public_key(), signed, b"x", (0x0401,)) is D.illegal_parameter
    forged = DigitallySigned(SignatureScheme.rsa_pkcs1_sha256, signed.signature)
    assert _alert(verify, ec_key.public_key(), forged, b"x", OFFERED_SCHEMES) is D.illegal_parameter


def test_choose_scheme(rsa_key: rsa.RSAPrivateKey) -> None:
    """RFC 5246 §7.4.1.4.1: no signature_algorithms means {sha1, <key type>}."""
    assert choose_scheme(rsa_key, None) is SignatureScheme.rsa_pkcs1_sha1
    assert (
        choose_scheme(ec.generate_private_key(ec.SECP256R1()), None) is SignatureScheme.ecdsa_sha1
    )
    assert choose_scheme(rsa_key, (0x0401, 0x0804)) is SignatureScheme.rsa_pss_rsae_sha256
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert choose_scheme(p384, OFFERED_SCHEMES) is SignatureScheme.ecdsa_secp384r1_sha384
    assert _alert(choose_scheme, rsa_key, (0x0403,)) is D.handshake_failure
