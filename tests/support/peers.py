"""Real TLS 1.2 peers (OpenSSL, GnuTLS) and tshark captures on loopback, always bounded and stopped.

Why one module: every test that talks to a real implementation needs the same three guarantees —
loopback only, a timeout on every wait, and every process it started stopped even when the test
fails. Each helper here is a context manager (or a function that returns only after its
processes are gone) so a test cannot forget the last one.

Processes run in their own session (process group); stopping sends SIGTERM to the group, then
SIGKILL after a grace period, so children such as tshark's ``dumpcap`` go too. Output goes to
files in the caller's working directory rather than pipes, so a chatty peer can never block on a
full pipe and the files remain for a failing test's message.

OpenSSL binds ``127.0.0.1`` and runs in the host network namespace on a free port. GnuTLS's
``gnutls-serv`` binds ``0.0.0.0``, so it, its client and any capture run together inside one
private network namespace holding only loopback (``unshare --net``, we are root); see
``gnutls_session``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .pki import KeyPair, TestPKI

ClientAuth = Literal["none", "request", "require"]
# A script step: bytes are written to stdin, a float is a pause in seconds, a str waits (up to
# STEP_WAIT seconds) until that text appears in the process's output.
Step = bytes | float | str
STEP_WAIT = 10.0

GNUTLS_PORT = 4433  # fixed: the private namespace has nothing else listening


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen, so none repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def port_listening(port: int) -> bool:
    """True if something listens on ``port`` in this namespace, asked of ``ss`` so that no
    probing connection appears in a capture."""
    out = subprocess.run(
        ["ss", "-Htln", f"sport = :{port}"], capture_output=True, text=True, timeout=5
    ).stdout
    return bool(out.strip())


@dataclass(slots=True)
class Peer:
    """A started process: its argv, the Popen, and the files holding its output."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    port: int = 0

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def write(self, data: bytes) -> None:
        """Send ``data`` to the process's stdin (a broken pipe means it already exited)."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def play(self, steps: Sequence[Step]) -> None:
        """A small script for s_client/s_server: write each bytes step, sleep each float step,
        wait for each str step to appear in the output (``RuntimeError`` if it does not)."""
        for step in steps:
            if isinstance(step, bytes):
                self.write(step)
            elif isinstance(step, str):
                if not self.wait_for(step, STEP_WAIT):
                    raise RuntimeError(f"{self.name}: no {step!r} in time\n{self.describe()}")
            else:
                time.sleep(step)

    def wait_for(self, text: str, timeout: float) -> bool:
        """Wait until ``text`` is in the stdout or stderr file (False after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while text not in self.stdout() and text not in self.stderr():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return text in self.stdout() or text in self.stderr()
            time.sleep(0.02)
        return True

    def wait(self, timeout: float) -> int | None:
        """Wait for a normal exit; None if it is still running after ``timeout``."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 2.0, sig: int = signal.SIGTERM) -> int:
        """Signal the whole process group, then SIGKILL it after ``grace`` seconds."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=grace)
        return int(self.proc.returncode)

    def describe(self) -> str:
        """The command and its output, for an assertion message."""
        return (
            f"$ {shlex.join(self.argv)}\n--- stdout\n{self.stdout()}\n--- stderr\n{self.stderr()}"
        )


@contextlib.contextmanager
def spawn(
    argv: Sequence[str],
    workdir: Path,
    name: str,
    *,
    ready_port: int | None = None,
    ready_text: str | None = None,
    ready_timeout: float = 10.0,
    env: dict[str, str] | None = None,
) -> Iterator[Peer]:
    """Start ``argv``; wait until it listens on ``ready_port`` or prints ``ready_text`` (stdout or
    stderr); yield it; always stop it. Fails with the peer's output if it is not ready in time."""
    workdir.mkdir(parents=True, exist_ok=True)
    out, err = workdir / f"{name}.out", workdir / f"{name}.err"
    with out.open("wb") as fout, err.open("wb") as ferr:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=fout,
            stderr=ferr,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
    peer = Peer(name, list(argv), proc, out, err, port=ready_port or 0)
    try:
        deadline = time.monotonic() + ready_timeout
        while ready_port is not None or ready_text is not None:
            if ready_port is not None and port_listening(ready_port):
                break
            if ready_text is not None and (
                ready_text in peer.stdout() or ready_text in peer.stderr()
            ):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become ready\n{peer.describe()}")
            time.sleep(0.02)
        yield peer
    finally:
        peer.stop()


@contextlib.contextmanager
def capture(
    port: int | Sequence[int], path: Path, *, iface: str = "lo", timeout: float = 60.0
) -> Iterator[Peer]:
    """Capture ``tcp port PORT`` (any of several ports) on ``iface`` into ``path`` (pcapng)
    around the ``with`` body.

    tshark is started (and confirmed capturing) before the body runs; afterwards a short pause
    lets the last segments arrive, then SIGINT makes tshark flush and close the file. ``timeout``
    is tshark's own hard stop (``-a duration``) should everything else fail."""
    ports = [port] if isinstance(port, int) else list(port)
    bpf = " or ".join(f"tcp port {p}" for p in ports)
    argv = [
        "tshark", "-i", iface, "-f", bpf, "-w", str(path), "-q",
        "-a", f"duration:{int(timeout)}",
    ]  # fmt: skip
    with spawn(argv, path.parent, f"tshark-{path.stem}", ready_text="Capturing on") as peer:
        # dumpcap writes the file header once the interface is open and the filter set.
        deadline = time.monotonic() + 10
        while not (path.exists() and path.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        yield peer
        time.sleep(0.3)
        peer.stop(grace=5.0, sig=signal.SIGINT)


def openssl_server_argv(
    pki: TestPKI,
    port: int,
    *,
    cert: Literal["rsa", "ecdsa"] = "rsa",
    cipher: str | None = None,
    client_auth: ClientAuth = "none",
    no_ticket: bool = False,
    keylog: Path | None = None,
    status_file: Path | None = None,
    naccept: int | None = 1,
    dhparams: bool = False,
    msg: bool = False,
    trace: bool = False,
    protocol: str = "-tls1_2",
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``openssl s_server -tls1_2`` command line for one test configuration (``protocol``
    ``-tls1_3``/``-tls1_1`` for the connections the oracle must call unsupported)."""
    pair: KeyPair = pki.server_rsa if cert == "rsa" else pki.server_ecdsa
    argv = ["openssl", "s_server", protocol, "-accept", f"127.0.0.1:{port}"]
    argv += ["-cert", str(pair.cert), "-key", str(pair.key), "-CAfile", str(pki.ca)]
    if cipher:
        argv += ["-cipher", cipher]
    if client_auth == "request":
        argv += ["-verify", "1"]
    elif client_auth == "require":
        argv += ["-Verify", "1"]
    if no_ticket:
        argv.append("-no_ticket")
    if keylog:
        argv += ["-keylogfile", str(keylog)]
    if status_file:
        argv += ["-status_file", str(status_file)]
    if naccept is not None:
        argv += ["-naccept", str(naccept)]
    if dhparams:
        argv += ["-dhparam", str(pki.dhparams)]
    if msg:
        argv.append("-msg")
    if trace:
        argv.append("-trace")
    return argv + list(extra)


@contextlib.contextmanager
def openssl_server(
    pki: TestPKI, workdir: Path, *, port: int | None = None, **options: object
) -> Iterator[Peer]:
    """A running ``openssl s_server`` on 127.0.0.1 (options as ``openssl_server_argv``)."""
    port = port or free_port()
    argv = openssl_server_argv(pki, port, **options)  # type: ignore[arg-type]
    with spawn(argv, workdir, f"s_server-{port}", ready_text="ACCEPT") as peer:
        peer.port = port
        yield peer


def openssl_client_argv(
    port: int,
    *,
    ca: Path | None = None,
    cert: KeyPair | None = None,
    cipher: str | None = None,
    keylog: Path | None = None,
    sess_out: Path | None = None,
    sess_in: Path | None = None,
    reconnect: bool = False,
    status: bool = False,
    no_ticket: bool = False,
    msg: bool = False,
    trace: bool = False,
    protocol: str = "-tls1_2",
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``openssl s_client -tls1_2`` command line for one test configuration."""
    argv = ["openssl", "s_client", protocol, "-connect", f"127.0.0.1:{port}"]
    argv += ["-servername", "localhost"]
    if ca:
        argv += ["-CAfile", str(ca), "-verify_return_error"]
    if cert:
        argv += ["-cert", str(cert.cert), "-key", str(cert.key)]
    if cipher:
        argv += ["-cipher", cipher]
    for flag, path in (("-keylogfile", keylog), ("-sess_out", sess_out), ("-sess_in", sess_in)):
        if path:
            argv += [flag, str(path)]
    for flag, on in (
        ("-reconnect", reconnect), ("-status", status), ("-no_ticket", no_ticket),
        ("-msg", msg), ("-trace", trace),
    ):  # fmt: skip
        if on:
            argv.append(flag)
    return argv + list(extra)


# Printed by s_client when its first handshake completes; by s_server ("CIPHER is ...") too.
HANDSHAKE_DONE = "SSL handshake has read"
SERVER_HANDSHAKE_DONE = "CIPHER is "


def openssl_client(
    port: int,
    workdir: Path,
    *,
    steps: Sequence[Step] = (0.3,),
    timeout: float = 15.0,
    name: str | None = None,
    **options: object,
) -> Peer:
    """Run ``openssl s_client`` to completion and return the stopped Peer (read its output).

    ``steps`` is played on stdin (``b"R\\n"`` asks s_client to renegotiate, ``b"Q\\n"`` to
    quit; ``HANDSHAKE_DONE`` waits for the handshake to finish); then stdin is closed, which
    makes s_client send close_notify and exit. ``timeout``
    bounds the whole run; a client still running then is killed."""
    argv = openssl_client_argv(port, **options)  # type: ignore[arg-type]
    with spawn(argv, workdir, name or f"s_client-{port}-{time.monotonic_ns()}") as peer:
        peer.port = port
        peer.play(steps)
        assert peer.proc.stdin is not None
        with contextlib.suppress(OSError):
            peer.proc.stdin.close()
        peer.wait(timeout)
    return peer


# --- GnuTLS, inside a private network namespace -------------------------------------------

GNUTLS_ECDHE_RSA = (
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:-MAC-ALL:+AEAD"
)


def gnutls_priority(kx: str, cipher: str = "AES-128-GCM", mac: str = "AEAD") -> str:
    """A priority string allowing TLS 1.2 with exactly one key exchange, cipher and MAC,
    e.g. ``gnutls_priority("DHE-RSA")`` or ``gnutls_priority("RSA", "AES-128-CBC", "SHA1")``."""
    return f"NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+{kx}:-CIPHER-ALL:+{cipher}:-MAC-ALL:+{mac}"


def gnutls_server_argv(
    pki: TestPKI,
    *,
    priority: str = GNUTLS_ECDHE_RSA,
    cert: Literal["rsa", "ecdsa"] = "rsa",
    client_auth: ClientAuth = "none",
    no_ticket: bool = False,
    ocsp: bool = False,
    port: int = GNUTLS_PORT,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``gnutls-serv --echo`` command line (it requests a client certificate unless told)."""
    pair = pki.server_rsa if cert == "rsa" else pki.server_ecdsa
    argv = ["gnutls-serv", "--echo", "-p", str(port), "--priority", priority]
    argv += ["--x509certfile", str(pair.cert), "--x509keyfile", str(pair.key)]
    argv += ["--x509cafile", str(pki.ca), "--dhparams", str(pki.dhparams)]
    argv += {
        "none": ["--disable-client-cert"],
        "request": ["--verify-client-cert"],
        "require": ["--require-client-cert", "--verify-client-cert"],
    }[client_auth]
    if no_ticket:
        argv.append("--noticket")
    if ocsp:
        if cert != "rsa":
            raise ValueError("the test PKI has an OCSP response for the RSA server only")
        argv += ["--ocsp-response", str(pki.ocsp_rsa)]
    return argv + list(extra)


def gnutls_client_argv(
    pki: TestPKI,
    *,
    priority: str = GNUTLS_ECDHE_RSA,
    cert: KeyPair | None = None,
    resume: bool = False,
    rehandshake: bool = False,
    no_ticket: bool = False,
    port: int = GNUTLS_PORT,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``gnutls-cli`` command line; ``--resume`` makes it reconnect and resume by itself."""
    argv = ["gnutls-cli", "127.0.0.1", "-p", str(port), "--priority", priority]
    argv += ["--x509cafile", str(pki.ca), "--verify-hostname", "localhost"]
    if cert:
        argv += ["--x509certfile", str(cert.cert), "--x509keyfile", str(cert.key)]
    for flag, on in (
        ("--resume", resume),
        ("--rehandshake", rehandshake),
        ("--noticket", no_ticket),
    ):
        if on:
            argv.append(flag)
    return argv + list(extra)


def netns_argv(argv: Sequence[str]) -> list[str]:
    """Prefix that runs ``argv`` in a new private network namespace with loopback up."""
    return ["unshare", "--net", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "_", *argv]


@dataclass(frozen=True, slots=True)
class NetnsRun:
    """What ``gnutls_session`` saw: the client's exit code (None if killed) and the outputs."""

    client_rc: int | None
    client_out: str
    server_out: str
    log: str


_NETNS_SCRIPT = r"""
set -u
ip link set lo up
trap 'kill -TERM $SP $TP 2>/dev/null' EXIT
TP=""; SP=""
if [ -n "$CAPTURE" ]; then
  tshark -i lo -f "tcp port $PORT" -w "$CAPTURE" -q -a duration:"$LIMIT" 2>"$WORK/tshark.err" &
  TP=$!
  for _ in $(seq 400); do [ -s "$CAPTURE" ] && break; sleep 0.025; done
  sleep 0.3
fi
eval "env -u SSLKEYLOGFILE $SERVER" >"$WORK/server.out" 2>&1 &
SP=$!
for _ in $(seq 400); do [ -n "$(ss -Htln "sport = :$PORT")" ] && break; sleep 0.025; done
printf '%b' "$INPUT" | eval "timeout $LIMIT $CLIENT" >"$WORK/client.out" 2>&1
echo "client_rc=$?"
sleep 0.3
kill -TERM $SP 2>/dev/null; wait $SP 2>/dev/null
if [ -n "$TP" ]; then kill -INT $TP; wait $TP; fi
"""


def gnutls_session(
    workdir: Path,
    server_argv: Sequence[str],
    client_argv: Sequence[str],
    *,
    capture: Path | None = None,
    keylog: Path | None = None,
    client_input: bytes = b"",
    port: int = GNUTLS_PORT,
    timeout: float = 30.0,
) -> NetnsRun:
    """Run gnutls-serv and one gnutls-cli (and tshark, if ``capture``) in one private network
    namespace, and return after all of them have exited.

    ``keylog`` is the client's SSLKEYLOGFILE (the server gets none, so each secret is logged
    once). ``client_input`` is fed to gnutls-cli's stdin; at its end the client closes. The
    whole namespace is killed after ``timeout`` seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        "PORT": str(port),
        "WORK": str(workdir),
        "CAPTURE": str(capture or ""),
        "LIMIT": str(int(timeout)),
        "SERVER": shlex.join(server_argv),
        "CLIENT": shlex.join(client_argv),
        "INPUT": "".join(f"\\x{b:02x}" for b in client_input),
    }
    if keylog:
        env["SSLKEYLOGFILE"] = str(keylog)
    argv = ["unshare", "--net", "--", "bash", "-c", _NETNS_SCRIPT]
    with spawn(argv, workdir, "netns", env=env) as peer:
        rc = peer.wait(timeout + 10)
        log = peer.stdout() + peer.stderr()
    client_rc = None
    for line in log.splitlines():
        if line.startswith("client_rc="):
            client_rc = int(line.removeprefix("client_rc="))
    if rc is None:
        client_rc = None
    return NetnsRun(client_rc, _read(workdir / "client.out"), _read(workdir / "server.out"), log)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
