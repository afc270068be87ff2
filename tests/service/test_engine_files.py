"""The daemon finds its policy and alerts files the way the commands do, so ``lnpilot fees
plan`` shows what ``lnpilot run`` would do and both read the same rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from lnpilot.config import load_settings
from lnpilot.service.daemon import load_engine_config, with_engine_files

POLICY = '[[rule]]\nname = "{0}"\nstrategy = "static"\nstatic.fee_rate_ppm = 10\n'


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LNPILOT_FEES_POLICY", "LNPILOT_ALERTS", "LNPILOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "lnpilot.toml"
    path.write_text('[lnbits]\nurl = "http://127.0.0.1:9"\n')
    return path


def rule_names(config: Path) -> list[str]:
    engine = load_engine_config(with_engine_files(load_settings(config), config))
    return [rule.name for rule in engine.fee_policy.rule] if engine.fee_policy else []


def test_files_beside_the_configuration_are_found(config: Path) -> None:
    assert rule_names(config) == []  # no policy anywhere: no fee loop
    (config.parent / "fees.toml").write_text(POLICY.format("beside"))
    (config.parent / "alerts.toml").write_text("")
    settings = with_engine_files(load_settings(config), config)
    assert settings.service.fees_policy_file == config.parent / "fees.toml"
    assert settings.service.alerts_file == config.parent / "alerts.toml"
    assert rule_names(config) == ["beside"]


def test_the_configured_file_wins_over_the_environment_which_wins_over_beside(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("beside", "env", "configured"):
        (config.parent / f"{name}.toml").write_text(POLICY.format(name))
    (config.parent / "beside.toml").rename(config.parent / "fees.toml")
    monkeypatch.setenv("LNPILOT_FEES_POLICY", str(config.parent / "env.toml"))
    assert rule_names(config) == ["env"]
    config.write_text(config.read_text() + '[service]\nfees_policy_file = "configured.toml"\n')
    assert rule_names(config) == ["configured"]
