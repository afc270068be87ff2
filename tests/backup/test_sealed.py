"""Sealed channel backups: the round trip, refusals, and ``lnpilot backup decrypt``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lnpilot.backup.sealed import MAGIC, Sealer, SealError, unseal
from lnpilot.cli.main import app

PASSPHRASE = "correct horse battery staple 9f3"
#: Cheap parameters for tests: the format and the code path are the same as the default's.
FAST = 10
CONTENT = bytes(range(256)) * 5


def test_round_trip_and_fresh_nonces() -> None:
    sealer = Sealer(PASSPHRASE, log2_n=FAST)
    one, two = sealer.seal(CONTENT), sealer.seal(CONTENT)
    assert one.startswith(MAGIC) and one != two, "a fresh nonce per seal"
    assert CONTENT not in one
    assert unseal(one, PASSPHRASE) == CONTENT == unseal(two, PASSPHRASE)


def test_default_parameters_round_trip() -> None:
    assert unseal(Sealer(PASSPHRASE).seal(CONTENT), PASSPHRASE) == CONTENT


def test_wrong_passphrase_and_changed_bytes_are_refused() -> None:
    sealed = Sealer(PASSPHRASE, log2_n=FAST).seal(CONTENT)
    with pytest.raises(SealError, match="wrong passphrase"):
        unseal(sealed, PASSPHRASE + "x")
    flipped = bytearray(sealed)
    flipped[len(MAGIC) + 5] ^= 1  # in the salt: authenticated like the rest
    with pytest.raises(SealError, match="wrong passphrase, or the file was changed"):
        unseal(bytes(flipped), PASSPHRASE)
    with pytest.raises(SealError, match="changed or cut short"):
        unseal(sealed[:-1], PASSPHRASE)
    with pytest.raises(SealError, match="not a channel backup sealed by lnpilot"):
        unseal(CONTENT, PASSPHRASE)
    greedy = bytearray(sealed)
    greedy[len(MAGIC)] = 40
    with pytest.raises(SealError, match=r"unsupported key derivation parameters: N=2\*\*40"):
        unseal(bytes(greedy), PASSPHRASE)


WRONG = "wrong-passphrase-3f9c1d"


def test_cli_decrypt(tmp_path: Path) -> None:
    sealed = tmp_path / "channel.backup.lnpsealed"
    sealed.write_bytes(Sealer(PASSPHRASE, log2_n=FAST).seal(CONTENT))
    (tmp_path / "pass").write_text(PASSPHRASE + "\n")
    # a passphrase is registered as a secret for the whole process: a common phrase here
    # would mask that phrase in every later message of the session (Boltz's error text)
    (tmp_path / "wrong").write_text(WRONG + "\n")
    out = tmp_path / "channel.backup"
    runner = CliRunner()
    args = ["backup", "decrypt", str(sealed), "-o", str(out), "--passphrase-file"]
    done = runner.invoke(app, [*args, str(tmp_path / "pass")])
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == CONTENT
    out.unlink()
    refused = runner.invoke(app, [*args, str(tmp_path / "wrong")])
    assert refused.exit_code == 2
    assert "wrong passphrase" in refused.output and not out.exists()
    assert WRONG not in refused.output
