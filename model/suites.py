"""Key-exchange families and the map from every TLS 1.2 IANA cipher suite to its family.

The cipher suite a ServerHello selects decides which optional server messages follow: whether the
server sends a Certificate, whether a ServerKeyExchange is required, optional or forbidden, whether
the server may ask for a client certificate, and whether a client certificate may carry fixed
(EC)DH parameters (which then makes CertificateVerify unnecessary). ``FAMILIES`` is that table;
``cipher_suites.tsv`` (beside this file) is the IANA registry restricted to suites a TLS 1.2
ServerHello may select.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

Need = Literal["required", "optional", "forbidden"]


@dataclass(frozen=True, slots=True)
class Family:
    """The ordering profile of one key exchange; each field cites where the RFC decides it."""

    name: str
    server_cert: Need  # "required" or "forbidden"
    ske: Need
    cert_request: bool
    fixed_dh: bool
    rfc: str


FAMILIES: Final[dict[str, Family]] = {
    f.name: f
    for f in (
        # RFC 5246 §7.4.2 (Certificate whenever the key exchange uses certificates), §7.4.3 (SKE
        # "not legal" for RSA, DH_DSS, DH_RSA; required for DHE_* and DH_anon), §7.4.4
        # (CertificateRequest only from a non-anonymous server), §7.4.6 (rsa/dss_fixed_dh).
        Family("RSA", "required", "forbidden", True, False, "RFC 5246 §7.4.3"),
        Family("DHE_RSA", "required", "required", True, False, "RFC 5246 §7.4.3"),
        Family("DHE_DSS", "required", "required", True, False, "RFC 5246 §7.4.3"),
        Family("DH_RSA", "required", "forbidden", True, True, "RFC 5246 §7.4.3, §7.4.6"),
        Family("DH_DSS", "required", "forbidden", True, True, "RFC 5246 §7.4.3, §7.4.6"),
        Family("DH_anon", "forbidden", "required", False, False, "RFC 5246 §7.4.3, §7.4.4"),
        # RFC 4492 §2.1-2.5 (ECDH_*: no SKE; ECDHE_*: SKE; ECDH_anon: no Certificate) and §3
        # (ecdsa_fixed_ecdh / rsa_fixed_ecdh client certificates with static ECDH only).
        Family("ECDHE_RSA", "required", "required", True, False, "RFC 4492 §2.4"),
        Family("ECDHE_ECDSA", "required", "required", True, False, "RFC 4492 §2.2"),
        Family("ECDH_RSA", "required", "forbidden", True, True, "RFC 4492 §2.3, §3"),
        Family("ECDH_ECDSA", "required", "forbidden", True, True, "RFC 4492 §2.1, §3"),
        Family("ECDH_anon", "forbidden", "required", False, False, "RFC 4492 §2.5"),
        # RFC 4279 §2 (PSK: Certificate and CertificateRequest omitted, SKE only for a hint),
        # §3 (DHE_PSK: SKE carries the DH parameters), §4 (RSA_PSK: server Certificate, SKE only
        # for a hint); RFC 5489 §2 (ECDHE_PSK); RFC 6655 §3 names DHE_PSK suites PSK_DHE.
        Family("PSK", "forbidden", "optional", False, False, "RFC 4279 §2"),
        Family("DHE_PSK", "forbidden", "required", False, False, "RFC 4279 §3"),
        Family("ECDHE_PSK", "forbidden", "required", False, False, "RFC 5489 §2"),
        Family("RSA_PSK", "required", "optional", True, False, "RFC 4279 §4"),
        # RFC 5054 §2.2: SRP always sends ServerKeyExchange; Certificate only for SRP_SHA_RSA/DSS.
        Family("SRP_SHA", "forbidden", "required", False, False, "RFC 5054 §2.2"),
        Family("SRP_SHA_RSA", "required", "required", True, False, "RFC 5054 §2.2"),
        Family("SRP_SHA_DSS", "required", "required", True, False, "RFC 5054 §2.2"),
        # RFC 2712 §3: Kerberos carries the key in ClientKeyExchange; no Certificate, no SKE.
        Family("KRB5", "forbidden", "forbidden", False, False, "RFC 2712 §3"),
        # RFC 8492 §4: password-authenticated; the server's element travels in SKE.
        Family("ECCPWD", "forbidden", "required", False, False, "RFC 8492 §4"),
        # RFC 9189 §4.2: GOST key transport: server Certificate, no ServerKeyExchange.
        Family("GOSTR341112_256", "required", "forbidden", True, False, "RFC 9189 §4.2"),
    )
}

# Cipher-suite name prefixes (between "TLS_" and "_WITH_") that name a family differently.
_ALIASES: Final[dict[str, str]] = {"PSK_DHE": "DHE_PSK"}
_KX_RE: Final = re.compile(r"^TLS_(.+?)_WITH_")


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One IANA cipher suite: its code point, name and key-exchange family."""

    code: int
    name: str
    family: str


def _load() -> tuple[dict[str, CipherSuite], dict[int, CipherSuite]]:
    by_name: dict[str, CipherSuite] = {}
    by_code: dict[int, CipherSuite] = {}
    text = resources.files(__package__).joinpath("cipher_suites.tsv").read_text("ascii")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code_text, name = line.split("\t")
        match = _KX_RE.match(name)
        if match is None:
            raise ValueError(f"cipher_suites.tsv: cannot read the key exchange of {name}")
        kx = _ALIASES.get(match.group(1), match.group(1))
        suite = CipherSuite(int(code_text, 16), name, FAMILIES[kx].name)
        by_name[name] = suite
        by_code[suite.code] = suite
    return by_name, by_code


SUITES_BY_NAME, SUITES_BY_CODE = _load()


def lookup_suite(text: str) -> CipherSuite:
    """Find a suite by IANA name or hex code ("0xc02f"); ``KeyError`` names what was wrong."""
    suite = SUITES_BY_NAME.get(text)
    if suite is not None:
        return suite
    if text[:2].lower() == "0x":
        try:
            suite = SUITES_BY_CODE.get(int(text, 16))
        except ValueError:
            suite = None
        if suite is not None:
            return suite
    raise KeyError(f"unknown TLS 1.2 cipher suite {text!r} (IANA name or hex code like 0xc02f)")


def _representative(family: str) -> CipherSuite:
    """A well-known suite of the family, for generated traces (AES-128-GCM when it exists)."""
    members = [s for s in SUITES_BY_NAME.values() if s.family == family]
    for marker in ("_WITH_AES_128_GCM_SHA256", "_WITH_AES_128_CBC_SHA"):
        for suite in members:
            if suite.name.endswith(marker):
                return suite
    return members[0]


REPRESENTATIVE: Final[dict[str, CipherSuite]] = {f: _representative(f) for f in FAMILIES}
