"""Configuration: file and environment, validation messages that name the key, no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnpilot.config import ConfigError, load_settings, make_client, make_node

from .conftest import Cli

SECRET = "f00dcafe5ecret0123456789abcdef01"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems(config: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    return caught.value.problems


def test_file_is_read_and_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\ninvoice_key = "from-file-key"\ntimeout_s = 3\n',
    )
    monkeypatch.setenv("LNPILOT_LNBITS__INVOICE_KEY", "from-env-key")
    monkeypatch.setenv("LNPILOT_LOG_LEVEL", "debug")
    settings = load_settings(config)
    assert settings.lnbits.invoice_key is not None
    assert settings.lnbits.invoice_key.get_secret_value() == "from-env-key"
    assert settings.lnbits.timeout_s == 3
    assert settings.log_level == "DEBUG"
    assert "from-env-key" not in repr(settings)


def test_config_file_from_environment_then_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LNPILOT_CONFIG", raising=False)
    write(tmp_path / "lnpilot.toml", '[lnbits]\nurl = "http://127.0.0.1:1"\n')
    assert str(load_settings().lnbits.url).startswith("http://127.0.0.1:1")
    named = write(tmp_path / "other.toml", '[lnbits]\nurl = "http://127.0.0.1:2"\n')
    monkeypatch.setenv("LNPILOT_CONFIG", str(named))
    assert str(load_settings().lnbits.url).startswith("http://127.0.0.1:2")


def test_unknown_key_is_an_error_naming_it_without_its_value(tmp_path: Path) -> None:
    config = write(
        tmp_path / "lnpilot.toml",
        f'colour = "blue"\n[lnbits]\nurl = "http://127.0.0.1:5000"\nadmin_kye = "{SECRET}"\n',
    )
    found = problems(config)
    assert any("unknown key 'lnbits.admin_kye'" in p and "admin_key" in p for p in found)
    assert any("unknown key 'colour'" in p for p in found)
    # A mistyped key may well hold a secret: its value is never echoed.
    assert not any(SECRET in p for p in found)


def test_unknown_key_in_a_section_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "c.toml", '[lnbits]\nurl = "http://127.0.0.1:5000"\n')
    monkeypatch.setenv("LNPILOT_LNBITS__ADMINKEY", SECRET)
    [problem] = problems(config)
    assert problem.startswith("env LNPILOT_LNBITS__ADMINKEY: unknown key 'lnbits.adminkey'")
    assert SECRET not in problem


def test_bad_values_name_key_value_and_what_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "lnpilot.toml",
        'log_level = "loud"\n[lnbits]\nurl = "ftp://127.0.0.1"\ntimeout_s = -1\n',
    )
    monkeypatch.setenv("LNPILOT_LNBITS__RATE_LIMIT_PER_MIN", "lots")
    found = "\n".join(problems(config))
    assert "lnpilot.toml: lnbits.timeout_s = -1: Input should be greater than 0" in found
    assert "lnbits.url = 'ftp://127.0.0.1': URL scheme should be 'http' or 'https'" in found
    assert "log_level = 'LOUD': Input should be 'DEBUG', 'INFO', 'WARNING'" in found
    assert "env LNPILOT_LNBITS__RATE_LIMIT_PER_MIN: lnbits.rate_limit_per_min = 'lots'" in found


def test_secret_values_are_masked_in_errors(tmp_path: Path) -> None:
    config = write(
        tmp_path / "lnpilot.toml", '[lnbits]\nurl = "http://127.0.0.1"\nadmin_key = 31415926535\n'
    )
    [problem] = problems(config)
    assert problem == f"{config}: lnbits.admin_key = ***: Input should be a valid string"


def test_missing_url_says_where_to_set_it(tmp_path: Path) -> None:
    config = write(tmp_path / "lnpilot.toml", 'log_level = "info"\n')
    assert problems(config) == [
        "lnbits.url: required; set [lnbits] url in lnpilot.toml or env LNPILOT_LNBITS__URL"
    ]


def test_secrets_from_files_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets" / "admin", SECRET + "\n")
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\nadmin_key_file = "secrets/admin"\n',
    )
    settings = load_settings(config)
    assert settings.lnbits.admin_key is not None
    assert settings.lnbits.admin_key.get_secret_value() == SECRET
    assert make_client(settings).credentials.admin_key == SECRET


def test_secret_file_problems_name_the_key_never_the_content(tmp_path: Path) -> None:
    write(tmp_path / "admin", SECRET)
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\ninvoice_key_file = "nope"\n'
        f'admin_key = "{SECRET}"\nadmin_key_file = "admin"\n',
    )
    [problem] = problems(config)
    assert "lnbits.invoice_key_file" in problem
    assert "cannot read secret file" in problem
    config = write(
        tmp_path / "lnpilot.toml",
        f'[lnbits]\nurl = "http://127.0.0.1:5000"\nadmin_key = "{SECRET}"\n'
        'admin_key_file = "admin"\n',
    )
    [problem] = problems(config)
    assert "set lnbits.admin_key or lnbits.admin_key_file, not both" in problem
    assert SECRET not in problem


def test_make_client_applies_limits_and_timeouts(tmp_path: Path) -> None:
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\ntimeout_s = 4.5\nrate_limit_per_min = 60\n'
        "pay_timeout_s = 30\nresolve_deadline_s = 90\n",
    )
    client = make_client(load_settings(config))
    assert client.transport.base_url == "http://127.0.0.1:5000"
    assert client.transport.settings.timeout_s == 4.5
    assert client.transport.settings.rate_limit_per_min == 60
    assert (client.payments.pay_timeout_s, client.payments.resolve_deadline_s) == (30, 90)


# -- through the CLI ------------------------------------------------------------------------


def test_cli_reports_each_problem_on_one_line_and_exits_2(cli: Cli, tmp_path: Path) -> None:
    write(
        tmp_path / "bad.toml",
        f'[lnbits]\nurl = "http://127.0.0.1:5000"\nadmin_key = 12\npasword = "{SECRET}"\n',
    )
    result = cli("--config", "bad.toml", "wallet", "show")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        "config: bad.toml: lnbits.admin_key = ***: Input should be a valid string",
        "config: bad.toml: unknown key 'lnbits.pasword'; allowed here: url, invoice_key, "
        "invoice_key_file, admin_key, admin_key_file, username, password, password_file, "
        "access_token, access_token_file, timeout_s, pay_timeout_s, resolve_deadline_s, "
        "rate_limit_per_min",
    ]
    assert result.stdout == ""


def test_cli_without_any_configuration(cli: Cli) -> None:
    result = cli("payments", "list")
    assert result.exit_code == 2
    assert "lnbits.url: required" in result.stderr


def test_cli_named_config_file_must_exist(cli: Cli) -> None:
    result = cli("--config", "missing.toml", "wallet", "show")
    assert result.exit_code == 2
    assert "config file 'missing.toml' (from --config) does not exist" in result.stderr
    result = cli("wallet", "show", env={"LNPILOT_CONFIG": "gone.toml"})
    assert result.exit_code == 2
    assert "(from LNPILOT_CONFIG)" in result.stderr


def test_cli_invalid_toml(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path / "lnpilot.toml", "[lnbits\nurl=1\n")
    result = cli("wallet", "show")
    assert result.exit_code == 2
    assert result.stderr.startswith("config: lnpilot.toml: not valid TOML:")
    assert len(result.stderr.splitlines()) == 1


def test_the_example_configuration_is_valid(tmp_path: Path) -> None:
    """As copied, with no secrets file made yet (tests/cli/test_start.py runs commands on it);
    its commented admin_key_file line works once uncommented."""
    example = Path(__file__).resolve().parents[2] / "lnpilot.example.toml"
    text = example.read_text(encoding="utf-8")
    settings = load_settings(write(tmp_path / "lnpilot.toml", text))
    assert settings.lnbits.admin_key is None
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets" / "lnbits-admin-key", SECRET)
    line = '# admin_key_file = "secrets/lnbits-admin-key"'
    assert line in text
    with_file = load_settings(write(tmp_path / "lnpilot.toml", text.replace(line, line[2:])))
    assert with_file.lnbits.admin_key is not None
    assert with_file.lnbits.admin_key.get_secret_value() == SECRET
    assert settings.data_dir == tmp_path / "data"
    assert settings.lnd is None  # optional, shown commented out
    assert not settings.service.fees_apply and not settings.service.rebalance_apply
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8181)


def test_lnd_section_reads_a_binary_macaroon_file_as_hex(tmp_path: Path) -> None:
    (tmp_path / "admin.macaroon").write_bytes(b"\x02\x01\x03lnd-macaroon-bytes")
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\n'
        '[lnd]\nrest_url = "http://127.0.0.1:8080"\nmacaroon_file = "admin.macaroon"\n',
    )
    settings = load_settings(config)
    assert settings.lnd is not None and settings.lnd.macaroon is not None
    assert settings.lnd.macaroon.get_secret_value() == b"\x02\x01\x03lnd-macaroon-bytes".hex()


def test_lnd_section_needs_a_hex_macaroon(tmp_path: Path) -> None:
    config = write(
        tmp_path / "lnpilot.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\n'
        '[lnd]\nrest_url = "http://127.0.0.1:8080"\nmacaroon = "not-hex-secret"\n',
    )
    found = problems(config)
    assert any("lnd" in p and "hex" in p for p in found), found
    assert not any("not-hex-secret" in p for p in found)
    missing = write(
        tmp_path / "missing.toml",
        '[lnbits]\nurl = "http://127.0.0.1:5000"\n[lnd]\nrest_url = "http://127.0.0.1:8080"\n',
    )
    assert any("macaroon" in p for p in problems(missing))


def test_make_node_puts_lnd_first_and_lnbits_only_with_a_login(tmp_path: Path) -> None:
    both = load_settings(
        write(
            tmp_path / "both.toml",
            '[lnbits]\nurl = "http://127.0.0.1:5000"\nusername = "admin"\npassword = "pw-123456"\n'
            '[lnd]\nrest_url = "http://127.0.0.1:8080"\nmacaroon = "0201"\n',
        )
    )
    assert [b.name for b in make_node(both).backends] == ["lnd-rest", "lnbits"]
    keys_only = load_settings(
        write(
            tmp_path / "keys.toml",
            '[lnbits]\nurl = "http://127.0.0.1:5000"\ninvoice_key = "k" \n'
            '[lnd]\nrest_url = "http://127.0.0.1:8080"\nmacaroon = "0201"\n',
        )
    )
    assert [b.name for b in make_node(keys_only).backends] == ["lnd-rest"]
