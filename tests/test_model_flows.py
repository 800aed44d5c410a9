"""The tables against hand-written RFC examples: RFC 5246 Figures 1 and 2, and each optional
message in and out, with the deviation (index, rule) a wrong ordering must produce."""

from __future__ import annotations

import pytest
from tlsmodel.model.checker import COMPLETE, OK, Checker, check
from tlsmodel.model.machine import role_view

C, S = "client", "server"
ECDHE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
RSA = "TLS_RSA_WITH_AES_128_CBC_SHA"


def m(sender: str, kind: str, **attrs: object) -> dict[str, object]:
    return {"from": sender, "type": kind, **attrs}


def hello(suite: str = ECDHE, resumed: bool = False, ext: tuple[str, ...] = ()) -> list[dict]:
    return [
        m(C, "ClientHello"),
        m(S, "ServerHello", cipher_suite=suite, resumed=resumed, extensions=list(ext)),
    ]


FINISH = [m(C, "ChangeCipherSpec"), m(C, "Finished"), m(S, "ChangeCipherSpec"), m(S, "Finished")]
SERVER_CERT = m(S, "Certificate", empty=False)


def full(suite: str = ECDHE, ske: bool = True, ext: tuple[str, ...] = ()) -> list[dict]:
    body = [SERVER_CERT, *([m(S, "ServerKeyExchange")] if ske else []), m(S, "ServerHelloDone")]
    return hello(suite, ext=ext) + body + [m(C, "ClientKeyExchange"), *FINISH]


FIGURE_1 = [
    *hello(ECDHE),
    SERVER_CERT,
    m(S, "ServerKeyExchange"),
    m(S, "CertificateRequest"),
    m(S, "ServerHelloDone"),
    m(C, "Certificate", empty=False, fixed_dh=False),
    m(C, "ClientKeyExchange"),
    m(C, "CertificateVerify"),
    *FINISH,
    m(C, "ApplicationData"),
    m(S, "ApplicationData"),
]
FIGURE_2 = [
    *hello(ECDHE, resumed=True),
    m(S, "ChangeCipherSpec"),
    m(S, "Finished"),
    m(C, "ChangeCipherSpec"),
    m(C, "Finished"),
    m(C, "ApplicationData"),
    m(S, "ApplicationData"),
]

CONFORMING = {
    "figure-1": FIGURE_1,
    "figure-2": FIGURE_2,
    "rsa-no-ske": full(RSA, ske=False),
    "ecdhe": full(),
    "psk-no-hint": hello("TLS_PSK_WITH_AES_128_GCM_SHA256")
    + [m(S, "ServerHelloDone"), m(C, "ClientKeyExchange"), *FINISH],
    "psk-with-hint": hello("TLS_PSK_WITH_AES_128_GCM_SHA256")
    + [m(S, "ServerKeyExchange"), m(S, "ServerHelloDone"), m(C, "ClientKeyExchange"), *FINISH],
    "dh-anon": hello("TLS_DH_anon_WITH_AES_128_CBC_SHA")
    + [m(S, "ServerKeyExchange"), m(S, "ServerHelloDone"), m(C, "ClientKeyExchange"), *FINISH],
    "status": hello(ECDHE, ext=("status_request",))
    + [
        SERVER_CERT,
        m(S, "CertificateStatus"),
        m(S, "ServerKeyExchange"),
        m(S, "ServerHelloDone"),
        m(C, "ClientKeyExchange"),
        *FINISH,
    ],
    "status-echoed-but-not-sent": full(ext=("status_request",)),
    "ticket-full": hello(ECDHE, ext=("session_ticket",))
    + [
        SERVER_CERT,
        m(S, "ServerKeyExchange"),
        m(S, "ServerHelloDone"),
        m(C, "ClientKeyExchange"),
        m(C, "ChangeCipherSpec"),
        m(C, "Finished"),
        m(S, "NewSessionTicket"),
        m(S, "ChangeCipherSpec"),
        m(S, "Finished"),
    ],
    "ticket-renewed-on-resumption": hello(ECDHE, resumed=True, ext=("session_ticket",))
    + [m(S, "NewSessionTicket"), *FIGURE_2[2:6]],
    "empty-client-certificate": hello(RSA)
    + [
        SERVER_CERT,
        m(S, "CertificateRequest"),
        m(S, "ServerHelloDone"),
        m(C, "Certificate", empty=True, fixed_dh=False),
        m(C, "ClientKeyExchange"),
        *FINISH,
    ],
    "fixed-dh-client-certificate": hello("TLS_DH_RSA_WITH_AES_128_CBC_SHA")
    + [
        SERVER_CERT,
        m(S, "CertificateRequest"),
        m(S, "ServerHelloDone"),
        m(C, "Certificate", empty=False, fixed_dh=True),
        m(C, "ClientKeyExchange"),
        *FINISH,
    ],
    "secure-renegotiation": full(ext=("renegotiation_info",))
    + [m(S, "HelloRequest"), m(C, "ApplicationData")]
    + hello(ECDHE, resumed=True, ext=("renegotiation_info",))
    + [m(S, "ApplicationData"), *FIGURE_2[2:6]],
    "renegotiation-declined": full()
    + [m(S, "HelloRequest"), m(C, "Alert", level="warning", description="no_renegotiation")],
    "server-declines-renegotiation": full()
    + [
        m(C, "ClientHello"),
        m(S, "Alert", level="warning", description="no_renegotiation"),
        m(C, "ApplicationData"),
    ],
    "hello-request-mid-handshake-ignored": hello() + [m(S, "HelloRequest"), *full()[2:]],
    "closed-by-fatal-alert": hello()
    + [m(C, "Alert", level="fatal", description="handshake_failure")],
    "close-notify-then-peer-data": full()
    + [m(C, "Alert", level="warning", description="close_notify"), m(S, "ApplicationData")],
}


@pytest.mark.parametrize("name", sorted(CONFORMING))
def test_rfc_flows_conform(name: str) -> None:
    verdict = check(CONFORMING[name])
    assert verdict.verdict == "conforms", verdict
    assert verdict.assumptions == ()


DEVIATING = {
    "empty-certificate-claiming-fixed-dh": (
        FIGURE_1[:6] + [m(C, "Certificate", empty=True, fixed_dh=True)],
        6,
        "§7.4",
    ),
    "warning-between-ccs-and-finished": (
        full()[:7] + [m(C, "Alert", level="warning", description="user_canceled")],
        7,
        "§7.4.9",
    ),
    "handshake-type-outside-tls12": (
        hello() + [m(S, "unknown-handshake", code=23)],
        2,
        "unexpected_message",
    ),
    # name: (trace, index of the first illegal message, words the cited rule contains)
    "ske-under-rsa (FREAK)": (hello(RSA) + [SERVER_CERT, m(S, "ServerKeyExchange")], 3, "§7.4.3"),
    "no-ske-under-ecdhe (SKIP-TLS)": (full(ske=False), 3, "§7.4.3"),
    "ccs-before-cke (CVE-2014-0224)": (full()[:5] + [m(C, "ChangeCipherSpec")], 5, "§7.4.7"),
    "finished-without-ccs": (full()[:6] + [m(C, "Finished")], 6, "§7.1"),
    "app-data-before-finished": (full()[:8] + [m(C, "ApplicationData")], 8, "§7.4.9"),
    "app-data-before-server-finished": (full()[:9] + [m(C, "ApplicationData")], 9, "§7.1"),
    "missing-certificate-verify (CVE-2015-0205)": (
        FIGURE_1[:8] + [m(C, "ChangeCipherSpec")],
        8,
        "§7.4.8",
    ),
    "client-certificate-unrequested": (
        full()[:5] + [m(C, "Certificate", empty=False, fixed_dh=False)],
        5,
        "§7.4.7",
    ),
    "skipped-client-certificate": (FIGURE_1[:6] + [m(C, "ClientKeyExchange")], 6, "§7.4.6"),
    "certificate-request-from-anon": (
        hello("TLS_DH_anon_WITH_AES_128_CBC_SHA")
        + [m(S, "ServerKeyExchange"), m(S, "CertificateRequest")],
        3,
        "§7.4.4",
    ),
    "status-not-echoed": (hello() + [SERVER_CERT, m(S, "CertificateStatus")], 3, "RFC 6066"),
    "ticket-not-echoed": (full()[:8] + [m(S, "NewSessionTicket")], 8, "MUST NOT otherwise"),
    "ticket-promised-not-sent": (
        hello(ext=("session_ticket",)) + full()[2:8] + [m(S, "ChangeCipherSpec")],
        8,
        "RFC 5077",
    ),
    "fixed-dh-under-ecdhe": (
        FIGURE_1[:6] + [m(C, "Certificate", empty=False, fixed_dh=True)],
        6,
        "§7.4",
    ),
    "resumption-with-certificate": (hello(resumed=True) + [SERVER_CERT], 2, "Figure 2"),
    "renegotiation-drops-renegotiation-info": (
        full(ext=("renegotiation_info",)) + hello(ext=()),
        11,
        "RFC 5746",
    ),
    "renegotiation-info-on-insecure": (full() + hello(ext=("renegotiation_info",)), 11, "RFC 5746"),
    "data-after-close-notify": (
        full()
        + [m(C, "Alert", level="warning", description="close_notify"), m(C, "ApplicationData")],
        11,
        "close_notify",
    ),
    "anything-after-fatal": (
        hello()
        + [
            m(S, "Alert", level="fatal", description="internal_error"),
            m(S, "Certificate", empty=False),
        ],
        3,
        "fatal alert",
    ),
    "warning-handshake-failure": (
        hello() + [m(S, "Alert", level="warning", description="handshake_failure")],
        2,
        "always fatal",
    ),
    "no-renegotiation-without-request": (
        full() + [m(C, "Alert", level="warning", description="no_renegotiation")],
        10,
        "hello request",
    ),
    "hello-request-between-ccs-and-finished": (full()[:9] + [m(S, "HelloRequest")], 9, "§7.4.9"),
    "client-sends-server-hello": (
        [
            m(C, "ClientHello"),
            m(C, "ServerHello", cipher_suite=ECDHE, resumed=False, extensions=[]),
        ],
        1,
        "§7.4.1.3",
    ),
    "second-client-key-exchange": (full()[:6] + [m(C, "ClientKeyExchange")], 6, "§7.1"),
    "empty-server-certificate": (hello() + [m(S, "Certificate", empty=True)], 2, "§7.4.2"),
}


@pytest.mark.parametrize("name", sorted(DEVIATING))
def test_wrong_orderings_deviate_at_the_right_message(name: str) -> None:
    trace, at, words = DEVIATING[name]
    verdict = check(trace)
    assert verdict.verdict == "deviates"
    assert verdict.at == at, verdict
    assert words in str(verdict.rule), verdict.rule
    if len(trace[at]) == 2:  # no attributes: the message type itself is what is illegal here
        assert (trace[at]["from"], trace[at]["type"]) not in verdict.expected


def test_streaming_answers() -> None:
    checker = Checker()
    answers = [checker.feed(message) for message in FIGURE_2[:6]]
    assert answers[:5] == [OK] * 5
    assert answers[5] is COMPLETE
    assert checker.feed(FIGURE_2[6]) is OK
    assert checker.finish().verdict == "conforms"


def test_deviation_is_sticky_and_names_alternatives() -> None:
    checker = Checker()
    for message in hello(RSA) + [SERVER_CERT]:
        assert checker.feed(message).ok
    deviation = checker.feed(m(S, "ServerKeyExchange"))
    assert not deviation.ok and deviation.at == 3
    assert ("server", "ServerHelloDone") in deviation.expected
    assert ("server", "CertificateRequest") in deviation.expected
    assert checker.feed(m(S, "ServerHelloDone")) is deviation
    assert checker.finish().at == 3


def test_unknown_attributes_follow_every_branch_and_report_assumptions() -> None:
    trace = [
        m(C, "ClientHello"),
        m(S, "ServerHello"),
        m(S, "ChangeCipherSpec"),
        m(S, "unknown-encrypted"),
        m(C, "ChangeCipherSpec"),
        m(C, "unknown-encrypted"),
    ]
    verdict = check(trace)
    assert verdict.verdict == "conforms"
    assert "#1 server ServerHello resumed=true" in verdict.assumptions
    assert "#1 server ServerHello ticket=false" in verdict.assumptions
    assert "#3 server unknown-encrypted was Finished" in verdict.assumptions


def test_incomplete_prefix_says_what_comes_next() -> None:
    verdict = check(FIGURE_1[:6])
    assert verdict.verdict == "incomplete"
    assert ("client", "Certificate") in verdict.expected
    assert ("client", "ClientKeyExchange") not in verdict.expected


def test_role_views_split_the_composite_by_direction() -> None:
    checker = Checker()
    for message in FIGURE_1[:6]:
        checker.feed(message)
    assert "Certificate" in checker.next_for("client")["send"]
    assert "Certificate" in checker.next_for("server")["receive"]
    assert "HelloRequest" in checker.next_for("server")["send"]
    view = role_view("client")
    assert ("HELLO_DONE", "send", "ClientKeyExchange", "CLIENT_KEY_EXCHANGE") in view
    assert ("CLIENT_HELLO", "recv", "ServerHello", "SERVER_HELLO") in view


def test_assumptions_are_what_the_rest_of_the_trace_decides() -> None:
    # Under ECDHE a fixed-DH client certificate is illegal anyway: nothing to assume.
    unknown_cert = m(C, "Certificate", empty=False)
    ecdhe = FIGURE_1[:6] + [unknown_cert] + FIGURE_1[7:]
    assert check(ecdhe).assumptions == ()
    # Under static DH both are legal; the CertificateVerify that follows says it was signing.
    dh = hello("TLS_DH_RSA_WITH_AES_128_CBC_SHA") + [
        SERVER_CERT,
        m(S, "CertificateRequest"),
        m(S, "ServerHelloDone"),
        unknown_cert,
        m(C, "ClientKeyExchange"),
        m(C, "CertificateVerify"),
        *FINISH,
    ]
    verdict = check(dh)
    assert verdict.verdict == "conforms"
    assert verdict.assumptions == ("#5 client Certificate fixed_dh=false",)
