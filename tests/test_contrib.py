"""The install recipes in contrib/ and the Dockerfile: what can be checked without Docker.

No Docker daemon runs where the tests run, so the image is not built here (``make dist``,
which the Dockerfile's build stage repeats, is tested in test_dist.py). What is checked: the
compose file parses and starts ``lnpilot run`` beside LNbits with the API published where
the daemon listens; every ``LNPILOT_…`` variable the recipes set is a real setting with the
intended value; the systemd unit passes ``systemd-analyze verify``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lnpilot.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "contrib" / "systemd" / "lnpilot.service"


def _dockerfile_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    pairs = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("ENV ")]
    return dict(pair.split("=", 1) for line in pairs for pair in line.split())


def _unit_env() -> dict[str, str]:
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    found = [line.removeprefix("Environment=") for line in lines if line.startswith("Environment=")]
    return dict(pair.split("=", 1) for pair in found)


def test_compose_runs_the_daemon_beside_lnbits() -> None:
    compose = yaml.safe_load((ROOT / "contrib" / "compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"lnbits", "lnpilot"}
    lnpilot = services["lnpilot"]
    context = (ROOT / "contrib" / lnpilot["build"]["context"]).resolve()
    assert (context / lnpilot["build"]["dockerfile"]).is_file()
    assert lnpilot["command"] == ["run"]
    assert lnpilot["depends_on"] == ["lnbits"]
    assert lnpilot["environment"]["LNPILOT_LNBITS__URL"] == "http://lnbits:5000"
    assert "127.0.0.1:5000:5000" in services["lnbits"]["ports"]
    port = load_settings_from(_dockerfile_env()).api.port
    assert f"127.0.0.1:{port}:{port}" in lnpilot["ports"]


def test_the_image_starts_lnpilot_run_with_settings_that_load() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["lnpilot"]' in text and 'CMD ["run"]' in text
    assert re.search(r"^EXPOSE 8181$", text, re.MULTILINE)
    settings = load_settings_from(_dockerfile_env())
    # All interfaces inside the container; compose publishes the port on 127.0.0.1 only.
    assert (settings.api.host, settings.api.port) == ("0.0.0.0", 8181)  # noqa: S104
    assert settings.data_dir == Path("/var/lib/lnpilot")


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/opt/lnpilot/bin/lnpilot run" in text
    assert load_settings_from(_unit_env()).data_dir == Path("/var/lib/lnpilot")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The unit names the installed path; verify a copy that runs this checkout's lnpilot.
    here = Path(sys.executable).parent / "lnpilot"
    copy = tmp_path / "lnpilot.service"
    copy.write_text(text.replace("/opt/lnpilot/bin/lnpilot", str(here)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def load_settings_from(env: dict[str, str]) -> Settings:
    """Settings from these variables alone, as a deployment sets them (plus the LNbits URL,
    which the compose file gives and a unit's config file would), in an empty directory."""
    patch = pytest.MonkeyPatch()
    try:
        for name in list(os.environ):
            if name.upper().startswith("LNPILOT_"):
                patch.delenv(name)
        patch.chdir(UNIT.parent)  # a folder with no lnpilot.toml
        patch.setenv("LNPILOT_LNBITS__URL", "http://lnbits:5000")
        for name, value in env.items():
            if name != "LNPILOT_CONFIG":  # the file a deployment mounts
                patch.setenv(name, value)
        return load_settings(None)
    finally:
        patch.undo()
