"""``make dist`` builds an sdist and a wheel that install and run outside the source tree.

The wheel goes into a fresh virtualenv of its own; its dependencies are lent from the test's
environment by a ``.pth`` line (no package index is needed), while lnpilot itself can only
come from the wheel. ``tokens list`` on a new SQLite file runs the store's migrations, so
the package data (migrations, templates) is shown to be in the wheel too.
"""

from __future__ import annotations

import os
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LNPILOT_")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_built_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run("make", "-s", "dist", f"DIST={dist}", cwd=ROOT)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("lnpilot-*.whl")
    assert len(list(dist.glob("lnpilot-*.tar.gz"))) == 1

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    [site] = (fresh / "lib").glob("python3*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    bin_dir = fresh / "bin"
    installed = _run(
        bin_dir / "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path
    )
    assert installed.returncode == 0, installed.stderr

    where = _run(bin_dir / "python", "-c", "import lnpilot; print(lnpilot.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    helped = _run(bin_dir / "lnpilot", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "Usage: lnpilot" in helped.stdout, helped.stderr
    listed = _run(
        bin_dir / "lnpilot",
        "tokens",
        "list",
        "--db",
        f"sqlite:///{tmp_path}/t.sqlite",
        cwd=tmp_path,
    )
    assert listed.returncode == 0 and "No tokens." in listed.stdout, listed.stderr
