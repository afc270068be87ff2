"""Email through a real SMTP server (aiosmtpd) on 127.0.0.1: STARTTLS and implicit TLS with a
certificate made for the test, a login only over TLS, and a message that reads well."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnpilot.notify.config import EmailReceiver
from lnpilot.notify.senders import DeliveryError, EmailSender
from lnpilot.store.outbox import Severity

from .conftest import SMTP_PASSWORD, SMTP_USER, Cert, SmtpServer, notice


def receiver(port: int, security: str, ca_file: Path | None, **extra: object) -> EmailReceiver:
    return EmailReceiver.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "username": SMTP_USER,
            "password": SMTP_PASSWORD,
            "sender": "lnpilot@node.example",
            "to": ["ops@node.example", "oncall@node.example"],
            "ca_file": ca_file,
            "timeout_s": 10,
            **extra,
        }
    )


async def test_starttls_delivers_a_readable_message(smtp_starttls: SmtpServer, cert: Cert) -> None:
    sent = notice(scid="800000x1x0", peer="02" + "aa" * 32, incident_ids=(7,))
    await EmailSender(receiver(smtp_starttls.port, "starttls", cert.cert_file)).send(
        sent, "lnpilot-42"
    )
    box = smtp_starttls.mailbox
    assert box.tls == [True] and box.logins == [SMTP_USER]
    assert box.recipients == [["ops@node.example", "oncall@node.example"]]
    [message] = box.messages
    assert message["Subject"] == "[lnpilot] FIRING critical: channel_closed (1)"
    assert message["Message-ID"] == "<lnpilot-42@node.example>", "the delivery id, for dedup"
    body = message.get_payload(decode=True).decode()
    assert "[critical] channel_closed: channel 800000x1x0 with <alice> was closed" in body
    assert "scid=800000x1x0" in body and "peer=02aaaaaaaaaaaaaa " in body
    assert "Incident #7: lnpilot incident 7" in body


async def test_implicit_tls_delivers(smtp_tls: SmtpServer, cert: Cert) -> None:
    resolved = notice(status="resolved", severity=Severity.WARNING)
    await EmailSender(receiver(smtp_tls.port, "tls", cert.cert_file)).send(resolved, "lnpilot-1")
    [message] = smtp_tls.mailbox.messages
    assert smtp_tls.mailbox.tls == [True]
    assert message["Subject"] == "[lnpilot] RESOLVED: channel_closed (1)"


async def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(
    smtp_starttls: SmtpServer,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(receiver(smtp_starttls.port, "starttls", None)).send(notice(), "x")
    assert not caught.value.permanent, "may work once the CA is configured: retried"
    assert smtp_starttls.mailbox.messages == []


async def test_a_wrong_password_is_permanent_and_not_echoed(
    smtp_starttls: SmtpServer, cert: Cert
) -> None:
    bad = receiver(smtp_starttls.port, "starttls", cert.cert_file, password="wrong-pass-123")
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(bad).send(notice(), "x")
    assert caught.value.permanent
    assert "wrong-pass-123" not in str(caught.value)


async def test_no_server_is_a_transient_failure(cert: Cert) -> None:
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(receiver(1, "starttls", cert.cert_file)).send(notice(), "x")
    assert not caught.value.permanent
