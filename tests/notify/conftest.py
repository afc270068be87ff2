"""Real peers for the senders, on 127.0.0.1: an SMTP server (aiosmtpd) with STARTTLS or
implicit TLS on a certificate made here, and HTTP servers (the standard library's) for
webhook receivers and for the Telegram Bot API double (see ``test_telegram.py``)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lnpilot.store import Store, sqlite_url
from lnpilot.store.alerts import monitor_book
from lnpilot.store.outbox import Notice, NoticeAlert, Severity

SMTP_USER = "lnpilot"
SMTP_PASSWORD = "smtp-pass-7f3a9c"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(sqlite_url(tmp_path)) as opened:
        yield opened


# -- TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate for 127.0.0.1 (and localhost), made for this session."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Cert(cert_file, key_file)


# -- SMTP -------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted, and whether each session had TLS on."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        implicit_tls = server.transport.get_extra_info("ssl_object") is not None
        self.tls.append(session.ssl is not None or implicit_tls)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


def _smtp(cert: Cert, *, implicit: bool) -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # aiosmtpd's Controller cannot take port 0 itself
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kwargs: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": mailbox.authenticate,
        "auth_require_tls": True,
    }
    if implicit:
        kwargs["ssl_context"] = cert.server_context()
        # aiosmtpd only counts STARTTLS as TLS for AUTH; the whole session is TLS here
        kwargs["auth_require_tls"] = False
    else:
        kwargs["tls_context"] = cert.server_context()
        kwargs["require_starttls"] = True
    controller = Controller(mailbox, **kwargs)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp_starttls(cert: Cert) -> Iterator[SmtpServer]:
    """SMTP on a free port that refuses mail before STARTTLS and logins without TLS."""
    yield from _smtp(cert, implicit=False)


@pytest.fixture
def smtp_tls(cert: Cert) -> Iterator[SmtpServer]:
    """SMTP with implicit TLS (what port 465 speaks)."""
    yield from _smtp(cert, implicit=True)


# -- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]
Responder = Callable[[Request], Reply]


class HttpServer:
    """A real HTTP/1.1 server on 127.0.0.1 in a thread; ``respond`` decides each answer,
    ``requests`` records what arrived (before the answer is sent)."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Request] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Request(self.path, dict(self.headers.items()), self.rfile.read(length))
                owner.requests.append(request)
                status, headers, body = owner.respond(request)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], HttpServer]]:
    """Start HTTP servers with the given responder; all are stopped after the test."""
    started: list[HttpServer] = []

    def start(respond: Responder) -> HttpServer:
        server = HttpServer(respond)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def json_reply(status: int, data: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


# -- notices ----------------------------------------------------------------------------------

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
NODE = "03" + "5e" * 32


def notice(
    *,
    rule: str = "channel_closed",
    severity: Severity = Severity.CRITICAL,
    status: str = "firing",
    summary: str = "channel 800000x1x0 with <alice> was closed (remote_force, by remote)",
    incident_ids: tuple[int, ...] = (),
    **labels: str,
) -> Notice:
    full = {"alertname": rule, "node": NODE, "severity": severity.value, **labels}
    alert = NoticeAlert(
        fingerprint=f"fp-{rule}-{sorted(labels.items())}",
        rule=rule,
        severity=severity,
        status=status,
        summary=summary,
        labels=full,
        starts_at=T0,
        ends_at=T0 + dt.timedelta(hours=1) if status == "resolved" else None,
    )
    return Notice(
        group_key=f"[alertname={rule}]",
        group_labels={"alertname": rule, "node": NODE},
        alerts=(alert,),
        created_at=T0,
        incident_ids=incident_ids,
    )


async def enqueue(store: Store, *notices: Notice) -> list[int]:
    async with monitor_book(store, write=True) as book:
        return [await book.outbox.enqueue(n) for n in notices]
