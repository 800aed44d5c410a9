"""Named deliberate deviations of the reference ``Connection``, all listed here and only here.

Why: later issues test *testers* (the oracle, differential tests, probes) against an endpoint that
is known to be wrong in one specific, historical way. Each fault reproduces a real bug, names
the CVE or attack that made it famous, and is off unless a caller switches it on by name. The
connection asks ``fault in self._faults`` at the one place where the deviation happens, so
every fault is a small, visible branch next to the rule it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    """The deviations; the value is the name used by ``--fault`` and in configs."""

    SKIP_SERVER_KEY_EXCHANGE = "skip-server-key-exchange"
    ACCEPT_RSA_SERVER_KEY_EXCHANGE = "accept-rsa-server-key-exchange"
    EARLY_CCS = "early-ccs"
    SKIP_CERTIFICATE_VERIFY = "skip-certificate-verify"
    FINISHED_WITHOUT_CCS = "finished-without-ccs"
    EARLY_APPLICATION_DATA = "early-application-data"


@dataclass(frozen=True, slots=True)
class FaultInfo:
    """What one fault breaks, in which role, and the real bug it reproduces."""

    fault: Fault
    roles: tuple[str, ...]
    behaviour: str
    rule: str
    reference: str


FAULTS: dict[Fault, FaultInfo] = {
    info.fault: info
    for info in (
        FaultInfo(
            Fault.SKIP_SERVER_KEY_EXCHANGE,
            ("client",),
            "client accepts ServerHelloDone without ServerKeyExchange under (EC)DHE and falls "
            "back to the server certificate's static key (no forward secrecy, no signature)",
            "RFC 5246 §7.4.3: ServerKeyExchange is required for DHE/ECDHE",
            "CVE-2014-3572 (OpenSSL ECDHE silently downgraded to ECDH); SKIP-TLS/SMACK, "
            "Beurdouche et al., IEEE S&P 2015",
        ),
        FaultInfo(
            Fault.ACCEPT_RSA_SERVER_KEY_EXCHANGE,
            ("client",),
            "client accepts a ServerKeyExchange with an RSA key under plain RSA key transport "
            "and encrypts the premaster secret to that key",
            "RFC 5246 §7.4.3: ServerKeyExchange is not sent for RSA key transport",
            "FREAK, CVE-2015-0204 (OpenSSL client accepted an export RSA key)",
        ),
        FaultInfo(
            Fault.EARLY_CCS,
            ("server",),
            "server accepts ChangeCipherSpec before ClientKeyExchange and derives keys from the "
            "still-empty premaster secret",
            "RFC 5246 §7.1/§7.4.9: ChangeCipherSpec only after the key exchange",
            "CVE-2014-0224 (OpenSSL early CCS injection)",
        ),
        FaultInfo(
            Fault.SKIP_CERTIFICATE_VERIFY,
            ("server",),
            "server accepts a non-empty client Certificate without CertificateVerify and "
            "treats the client as authenticated",
            "RFC 5246 §7.4.8: CertificateVerify follows every signing client certificate",
            "CVE-2015-0205 (OpenSSL accepted client authentication without CertificateVerify)",
        ),
        FaultInfo(
            Fault.FINISHED_WITHOUT_CCS,
            ("client", "server"),
            "accepts the peer's Finished without a preceding ChangeCipherSpec, in the clear",
            "RFC 5246 §7.4.9: Finished is sent immediately after ChangeCipherSpec",
            "SMACK, Beurdouche et al., IEEE S&P 2015 (CyaSSL; JSSE CVE-2014-6593)",
        ),
        FaultInfo(
            Fault.EARLY_APPLICATION_DATA,
            ("client", "server"),
            "accepts application data from the peer before the handshake's Finished messages",
            "RFC 5246 §7.4.9/§10: application data only after both Finished",
            "SKIP-TLS, JSSE CVE-2014-6593; de Ruiter & Poll, USENIX Security 2015",
        ),
    )
}


def parse_faults(names: list[str] | tuple[str, ...], role: str) -> frozenset[Fault]:
    """Map ``--fault`` names to faults for ``role``; unknown or foreign names are a ValueError.

    Why ValueError: the CLI turns it into a UsageError, the API caller sees a plain bug report.
    """
    chosen: set[Fault] = set()
    for name in names:
        try:
            fault = Fault(name)
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise ValueError(f"unknown fault {name!r} (known: {known})") from None
        if role not in FAULTS[fault].roles:
            raise ValueError(f"fault {name!r} applies to the {'/'.join(FAULTS[fault].roles)}")
        chosen.add(fault)
    return frozenset(chosen)


def describe_faults(role: str | None = None) -> list[str]:
    """One line per fault (name, roles, behaviour, reference) for ``--list-faults``."""
    lines = []
    for info in FAULTS.values():
        if role is None or role in info.roles:
            lines.append(
                f"{info.fault.value} [{'/'.join(info.roles)}]: {info.behaviour}. "
                f"Breaks {info.rule}. Reproduces {info.reference}."
            )
    return lines
