"""A new channel backup, sealed, goes through the outbox to a real SMTP server (as an
attachment) and a real webhook receiver (in its JSON): once per backup, restart or not,
and the passphrase appears nowhere."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from collect.conftest import Sim
from lnpilot.backup import ScbKeeper
from lnpilot.backup.sealed import SEALED_FILE_NAME, Sealer, unseal
from lnpilot.notify import Notifier, NotifyConfig, render
from lnpilot.store import Store
from lnpilot.store.alerts import monitor_book
from lnpilot.store.outbox import Notice, NoticeFile
from notify.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    T0,
    Cert,
    HttpServer,
    Responder,
    SmtpServer,
    json_reply,
)

from .test_sealed import FAST, PASSPHRASE


def config(smtp: SmtpServer, cert: Cert, hook: HttpServer) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "receivers": {
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "starttls",
                    "username": SMTP_USER,
                    "password": SMTP_PASSWORD,
                    "sender": "lnpilot@node.example",
                    "to": ["ops@node.example"],
                    "ca_file": cert.cert_file,
                    "timeout_s": 10,
                },
                "hook": {"type": "webhook", "url": hook.url + "/backups"},
            },
            "routes": [
                {
                    "name": "backups",
                    "receivers": ["mail", "hook"],
                    "match": ['alertname="channel_backup"'],
                }
            ],
        }
    )


async def test_a_new_backup_is_mailed_and_posted_sealed_once(
    sim: Sim,
    store: Store,
    smtp_starttls: SmtpServer,
    cert: Cert,
    http_server: Callable[[Responder], HttpServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = http_server(lambda request: json_reply(200, {}))

    def keeper() -> ScbKeeper:
        sealer = Sealer(PASSPHRASE, log2_n=FAST)
        return ScbKeeper(sim.lnd, store, clock=lambda: sim.now, sealer=sealer)

    kept = await keeper().take()
    assert kept is not None
    assert await keeper().take() is None, "a restarted keeper finds it stored: no new notice"

    async with Notifier(store, config(smtp_starttls, cert, hook)) as notifier:
        attempts = await notifier.run_once(sim.now)
        assert sorted((a.receiver, a.error) for a in attempts) == [("hook", None), ("mail", None)]
        assert await notifier.run_once(sim.now + timedelta(hours=2)) == [], "sent once"

    [received] = smtp_starttls.mailbox.messages
    mail = message_from_bytes(received.as_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"].startswith("[lnpilot] channel backup: ")
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == SEALED_FILE_NAME
    sealed_by_mail = attachment.get_payload(decode=True)
    assert isinstance(sealed_by_mail, bytes)
    assert unseal(sealed_by_mail, PASSPHRASE) == kept.multi_chan_backup
    body = mail.get_body(("plain",))
    assert body is not None and "lnpilot backup decrypt" in body.get_content()

    [posted] = hook.requests
    file = posted.json()["file"]
    assert file["filename"] == SEALED_FILE_NAME
    sealed_by_hook = base64.b64decode(file["content_base64"])
    assert unseal(sealed_by_hook, PASSPHRASE) == kept.multi_chan_backup

    async with monitor_book(store) as book:
        assert (await book.outbox.counts())["delivered"] == 2
    for seen in (caplog.text, mail.as_string(), posted.body.decode()):
        assert PASSPHRASE not in seen


def test_text_only_media_say_what_the_file_is() -> None:
    """Telegram and Apprise carry text: they get the notice's title and text, not the file."""
    file = NoticeFile("f.bin", "application/octet-stream", b"\x00" * 8, "channel backup: 2", "x<y")
    notice = Notice(
        "[alertname=channel_backup]", {"alertname": "channel_backup"}, (), T0, file=file
    )
    assert Notice.from_json(notice.to_json()) == notice
    assert (
        render.subject(notice) == "[lnpilot] channel backup: 2" and render.text(notice) == "x<y\n"
    )
    message = render.telegram_html(notice)
    assert "<b>channel backup: 2</b>" in message and "x&lt;y" in message
    assert "email and webhook receivers only" in message
