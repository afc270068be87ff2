"""CLI behaviour that needs no LNbits: decoding, refusing bad invoices, the command tree."""

from __future__ import annotations

import json

from .conftest import Cli

# BOLT11 spec example: "Please send $3 for a cup of coffee to the same peer, within one minute".
SPEC_INVOICE = (
    "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqq"
    "syqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fk"
    "pmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh"
)
SPEC_HASH = "0001020304050607080900010203040506070809000102030405060708090102"


def test_decode_spec_vector_as_json(cli: Cli) -> None:
    result = cli("decode", SPEC_INVOICE, "--json")
    assert result.exit_code == 0, result.output
    decoded = json.loads(result.stdout)
    assert decoded["payment_hash"] == SPEC_HASH
    assert decoded["amount_msat"] == 250_000_000
    assert decoded["description"] == "1 cup coffee"
    assert decoded["expiry_s"] == 60
    assert decoded["created_at"] == "2017-06-01T10:57:38+00:00"
    assert decoded["expires_at"] == "2017-06-01T10:58:38+00:00"
    assert decoded["expired"] is True
    assert decoded["network_prefix"] == "bc"


def test_decode_spec_vector_as_table(cli: Cli) -> None:
    result = cli("decode", "lightning:" + SPEC_INVOICE.upper())
    assert result.exit_code == 0, result.output
    assert "250,000 sat" in result.stdout
    assert "1 cup coffee" in result.stdout
    assert "2017-06-01 10:58:38 UTC (expired)" in result.stdout


def test_decode_rejects_garbage_with_one_line(cli: Cli) -> None:
    corrupted = SPEC_INVOICE[:-1] + ("q" if SPEC_INVOICE[-1] != "q" else "p")
    result = cli("decode", corrupted)
    assert result.exit_code == 2
    assert result.stderr == "InvoiceDecodeError: bech32 checksum mismatch\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_pay_refuses_an_expired_invoice_before_reading_any_configuration(cli: Cli) -> None:
    result = cli("pay", SPEC_INVOICE, "--yes")
    assert result.exit_code == 2
    assert "invoice expired at 2017-06-01 10:58:38 UTC; not paid" in result.stderr


def test_every_command_is_there(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("wallet", "invoice", "pay", "payments", "decode", "watch", "dev", "demo"):
        assert command in result.stdout
    for group, sub in (("wallet", "show"), ("invoice", "create"), ("payments", "list")):
        assert sub in cli(group, "--help").stdout
    assert "--port" in cli("dev", "lnbits", "--help").stdout


def test_bad_arguments_are_usage_errors(cli: Cli) -> None:
    result = cli("invoice", "create", "--amount-sat", "0")
    assert result.exit_code == 2
    assert "--amount-sat" in result.stderr
