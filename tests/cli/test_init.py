"""``lnpilot init`` against a real LNbits: each credential checked live, files written only
when every check passed, and the written configuration works at once."""

from __future__ import annotations

import os
import pty
import select
import signal
import stat
import sys
import termios
import time
from pathlib import Path

from lnpilot.devtools import LNbitsServer
from lnpilot.fees import parse_policy
from lnpilot.service.alerts_file import load_alerts_file

from .conftest import Cli, NewWallet, json_of


def test_init_checks_the_keys_and_writes_a_working_configuration(
    cli: Cli, tmp_path: Path, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    keys = new_wallet(1_000)
    done = cli(
        "init",
        "--lnbits-url",
        lnbits_server.url,
        "--invoice-key",
        keys.inkey,
        "--admin-key",
        keys.adminkey,
    )
    assert done.exit_code == 0, done.output
    assert "ok invoice key: wallet" in done.stdout and "1,000 sat" in done.stdout
    assert "ok admin key:" in done.stdout
    assert "Node: none configured" in done.stdout  # says what the keys alone cannot do
    config = tmp_path / "lnpilot.toml"
    for private in (config, tmp_path / "secrets" / "lnbits-admin-key"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert keys.adminkey not in config.read_text()  # secrets live in their files
    assert "fees_apply = false" in config.read_text()
    parse_policy((tmp_path / "fees.toml").read_text(), "fees.toml")
    load_alerts_file(tmp_path / "alerts.toml")

    shown = json_of(cli("wallet", "show", "--json"))  # the written file is ./lnpilot.toml
    assert shown["balance_msat"] == 1_000_000

    again = cli("init", "--lnbits-url", lnbits_server.url, "--invoice-key", keys.inkey)
    assert again.exit_code == 2 and "--force overwrites them" in again.stderr


def test_init_checks_the_login_and_says_what_the_node_api_gives(
    cli: Cli, tmp_path: Path, lnbits_server: LNbitsServer
) -> None:
    superuser = lnbits_server.superuser
    done = cli(
        "init",
        "--lnbits-url",
        lnbits_server.url,
        "--username",
        superuser.username,
        "--password",
        superuser.password,
    )
    assert done.exit_code == 0, done.output
    assert f"ok login {superuser.username}: superuser" in done.stdout
    assert "Node backends: lnbits." in done.stdout
    assert "Not available without a direct LND REST connection" in done.stdout
    assert "forwarding history" in done.stdout.split("Not available without")[1]
    assert superuser.password not in (tmp_path / "lnpilot.toml").read_text()


def test_a_failed_check_writes_nothing(
    cli: Cli, tmp_path: Path, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    keys = new_wallet(0)
    # An invoice key given as the admin key: LNbits accepts it for reading, so init must
    # notice it cannot pay.
    wrong = cli("init", "--lnbits-url", lnbits_server.url, "--admin-key", keys.inkey)
    assert wrong.exit_code == 2
    assert "--admin-key is an invoice key" in wrong.stderr and "nothing written" in wrong.stderr
    unknown = cli("init", "--lnbits-url", lnbits_server.url, "--invoice-key", "0" * 32)
    assert unknown.exit_code == 2 and "NotFoundError" in unknown.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_without_a_terminal_needs_the_url(cli: Cli, tmp_path: Path) -> None:
    done = cli("init")
    assert done.exit_code == 2 and "give --lnbits-url" in done.stderr


def _expect(fd: int, text: str, seen: list[str]) -> None:
    """Read the terminal until ``text`` has appeared (the prompt is the signal to answer)."""
    deadline = time.monotonic() + 60  # only bounds a hang; normal runs answer at once
    while text not in "".join(seen):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {text!r} in {''.join(seen)!r}"
        try:
            seen.append(os.read(fd, 4096).decode(errors="replace"))
        except OSError:  # the child closed the terminal
            break
    assert text in "".join(seen), "".join(seen)


def _echo_off(fd: int, seen: list[str]) -> None:
    """Wait until the program has turned the terminal's echo off for a hidden answer.

    click prints a hidden prompt before getpass turns echo off, and getpass discards what
    was typed until then: answering on the prompt's text alone loses the answer when the
    program is slower than the test. The terminal's own state is the signal."""
    deadline = time.monotonic() + 60  # only bounds a hang
    while termios.tcgetattr(fd)[3] & termios.ECHO:
        assert time.monotonic() < deadline, "".join(seen)
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            seen.append(os.read(fd, 4096).decode(errors="replace"))


def test_init_asks_in_a_terminal_with_hidden_secrets(
    tmp_path: Path, lnbits_server: LNbitsServer, new_wallet: NewWallet
) -> None:
    keys = new_wallet(0)
    lnpilot = str(Path(sys.executable).with_name("lnpilot"))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LNPILOT_")}
    pid, fd = pty.fork()
    if pid == 0:  # the child: lnpilot init in a terminal
        os.chdir(tmp_path)
        os.execve(lnpilot, [lnpilot, "init"], env)  # noqa: S606 (no shell wanted)
    seen: list[str] = []
    try:
        for prompt, answer, hidden in (
            ("LNbits URL", lnbits_server.url, False),
            ("Invoice key", keys.inkey, True),
            ("Admin key", "", True),
            ("LNbits admin login", "", False),
        ):
            _expect(fd, prompt, seen)
            if hidden:
                _echo_off(fd, seen)
            os.write(fd, (answer + "\n").encode())
        _expect(fd, "Wrote lnpilot.toml", seen)
    except BaseException:  # it may wait for an answer that will not come: end it
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, "".join(seen)
    assert keys.inkey not in "".join(seen)  # typed, not echoed
    assert (tmp_path / "secrets" / "lnbits-invoice-key").read_text().strip() == keys.inkey
