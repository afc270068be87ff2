"""Start a real LNbits 1.6.2 in a subprocess, for tests and for hand use.

LNbits lives in its own virtual environment (`make lnbits`) because its pins clash with
ours, so it cannot be imported here: it is run as `python -m uvicorn lnbits.__main__:app`
from that environment. Running the ASGI app directly (instead of the `lnbits` command) gives
one process that stops cleanly on SIGTERM; the `lnbits` command forks a supervisor whose
child outlives it.

The environment set here makes the server offline, quiet and fast (see
docs/LNBITS.md in the shared docs): no price services, no extension manifests, a rate limit
that tests cannot hit, and webhooks allowed to loopback targets.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Protocol, TextIO

import httpx

from lnpilot.base.redact import install_log_redaction

LNBITS_VERSION = "1.6.2"
VENV_ENV_VAR = "LNPILOT_LNBITS_VENV"
"""Names a virtual environment holding LNbits, instead of the repository's `.cache` one."""

DEFAULT_WALLETS: Mapping[str, int] = {"alice": 1_000_000, "bob": 200_000}
"""Accounts (name -> sats) that the test session and `run_dev_server` create and fund."""

_VENV_RELATIVE = Path(".cache") / f"lnbits-{LNBITS_VERSION}"
_SUPERUSER_NAME = "lnpilot_admin"  # LNbits: 2-20 chars of [a-zA-Z0-9._]
_LOG_NAME = "lnbits.log"
_HTTP_TIMEOUT = 10.0


SHARED_DIR_ENV_VAR = "LNPILOT_SHARED_DIR"
"""Names the shared data folder (docs, contracts, extension archives) instead of ../shared."""

EXTENSION_ARCHIVES: Mapping[str, str] = {
    "lndhub": "lndhub-1.0.2.tar.gz",
    "usermanager": "usermanager-1.0.0.tar.gz",
    "boltz": "boltz-1.1.0.tar.gz",
}
"""The extension releases the contracts were recorded against (id -> archive file name)."""


class LNbitsUnavailable(RuntimeError):
    """LNbits is not installed where we look; the message says how to install it."""


class LNbitsStartError(RuntimeError):
    """LNbits is installed but failed: it did not start, refused the bootstrap, or exited."""


def lnbits_required() -> bool:
    """Whether a missing or broken LNbits must fail the run instead of skipping tests.

    True on CI (env `CI` is `true` or `1`): there, a skipped integration suite would pass
    silently while testing nothing.
    """
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def find_lnbits_python(repo_root: Path | None = None) -> Path:
    """Return the Python interpreter of the LNbits virtual environment.

    `LNPILOT_LNBITS_VENV` (a venv directory) wins. Otherwise `.cache/lnbits-1.6.2` is looked
    up in `repo_root`, or, when it is None, in the ancestors of the working directory and of
    this file (so it works from any sub-directory of the repository and from an editable
    install). The venv counts only once `make lnbits` has written its `.installed` stamp, so a
    half-finished install is reported as such instead of failing at import later.
    """
    override = os.environ.get(VENV_ENV_VAR)
    if override:
        python = Path(override) / "bin" / "python"
        if not python.exists():
            raise LNbitsUnavailable(
                f"{VENV_ENV_VAR}={override} has no bin/python: point it at a virtual "
                f"environment with lnbits=={LNBITS_VERSION} installed."
            )
        return python

    if repo_root is not None:
        roots = [repo_root]
    else:
        here = Path(__file__).resolve()
        cwd = Path.cwd().resolve()
        roots = [cwd, *cwd.parents, *here.parents]
    for root in roots:
        venv = root / _VENV_RELATIVE
        python = venv / "bin" / "python"
        if python.exists() and (venv / ".installed").exists():
            return python
        if python.exists():
            raise LNbitsUnavailable(
                f"LNbits venv {venv} is incomplete (no .installed stamp): run `make lnbits`."
            )
    searched = repo_root or Path.cwd()
    raise LNbitsUnavailable(
        f"LNbits {LNBITS_VERSION} is not installed (no {_VENV_RELATIVE}/bin/python above "
        f"{searched}): run `make lnbits` in the repository root, or set {VENV_ENV_VAR}."
    )


def shared_dir() -> Path:
    """The shared data folder: `LNPILOT_SHARED_DIR`, else `shared/` beside the repository.

    It is not part of the repository (nothing from it is committed); tests that read it skip
    when it is absent, except on CI.
    """
    override = os.environ.get(SHARED_DIR_ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3].parent / "shared"


def find_extension_archives(ids: Sequence[str] = tuple(EXTENSION_ARCHIVES)) -> dict[str, Path]:
    """The archives of the recorded extension releases (id -> path), or `LNbitsUnavailable`.

    LNbits cannot download extensions offline; these archives, unpacked into its extensions
    folder before start, are how the real extension code gets into the test server.
    """
    folder = shared_dir() / "extensions"
    found: dict[str, Path] = {}
    for ext_id in ids:
        if ext_id not in EXTENSION_ARCHIVES:
            raise ValueError(
                f"unknown extension {ext_id!r}: known are {sorted(EXTENSION_ARCHIVES)}"
            )
        archive = folder / EXTENSION_ARCHIVES[ext_id]
        if not archive.is_file():
            raise LNbitsUnavailable(
                f"extension archive {archive} not found: the shared folder with the real "
                f"extension releases is absent (set {SHARED_DIR_ENV_VAR} to point at it)"
            )
        found[ext_id] = archive
    return found


# --- funding sources ---------------------------------------------------------------------


class FundingSource(Protocol):
    """What LNbits uses as its Lightning backend, expressed as environment variables."""

    def env(self) -> dict[str, str]:
        """Environment variables that select and configure the backend."""
        ...


@dataclass(frozen=True)
class FakeWalletFunding:
    """LNbits' built-in FakeWallet: instant, offline, pays only its own invoices."""

    def env(self) -> dict[str, str]:
        return {"LNBITS_BACKEND_WALLET_CLASS": "FakeWallet"}


@dataclass(frozen=True)
class LndRestFunding:
    """LNbits' `LndRestWallet` on an LND REST endpoint (real, or a simulated face).

    `endpoint` must carry its scheme: LNbits prefixes `https://` to a bare host. For a plain
    `http://` endpoint no certificate is needed (LNbits passes `verify=cert or True` to httpx,
    which ignores it without TLS). For `https://` with a self-signed certificate give `cert`
    as the path of LND's tls.cert. The macaroon goes as hex, which LNbits uses unchanged.

    If the endpoint does not answer at start-up, LNbits retries for about 8 s and then
    silently falls back to its VoidWallet: start the LND face first.
    """

    endpoint: str
    macaroon_hex: str = field(repr=False)
    cert: str | None = None

    def env(self) -> dict[str, str]:
        env = {
            "LNBITS_BACKEND_WALLET_CLASS": "LndRestWallet",
            "LND_REST_ENDPOINT": self.endpoint,
            "LND_REST_MACAROON": self.macaroon_hex,
        }
        if self.cert is not None:
            env["LND_REST_CERT"] = self.cert
        return env


# --- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletKeys:
    """One LNbits wallet and its API keys; the keys are left out of repr so logs stay clean."""

    name: str
    user_id: str = field(repr=False)
    wallet_id: str
    adminkey: str = field(repr=False)
    inkey: str = field(repr=False)

    @classmethod
    def from_api(cls, wallet: Mapping[str, Any]) -> WalletKeys:
        """Build from a wallet object as LNbits returns it (`/api/v1/account`, `/wallets`)."""
        return cls(
            name=str(wallet["name"]),
            user_id=str(wallet["user"]),
            wallet_id=str(wallet["id"]),
            adminkey=str(wallet["adminkey"]),
            inkey=str(wallet["inkey"]),
        )


@dataclass(frozen=True)
class Superuser:
    """The superuser made by the first install. LNbits accepts a user id as a login, so it
    is masked in repr like the password and the token."""

    username: str
    password: str = field(repr=False)
    user_id: str = field(repr=False)
    access_token: str = field(repr=False)
    wallet: WalletKeys


# --- the server ----------------------------------------------------------------------------


def _free_port() -> int:
    """A port free on 127.0.0.1 now (another process could take it before LNbits binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _offline_env(data_dir: Path) -> dict[str, str]:
    """Settings for an offline, quiet, fast server whose state lives in `data_dir`.

    With the admin UI on, LNbits copies these into its database on the first start only.
    """
    return {
        "LNBITS_DATA_FOLDER": str(data_dir),
        # Extensions are installed offline by placing them in <path>/extensions/<id>/.
        "LNBITS_EXTENSIONS_PATH": str(data_dir),
        "LNBITS_ADMIN_UI": "true",
        "LNBITS_NODE_UI": "true",
        "LNBITS_NODE_UI_TRANSACTIONS": "true",
        # Without these, each invoice asks ~9 price services (0.3 s, or 3 s timeouts offline).
        "LNBITS_PRICE_AGGREGATOR_ENABLED": "false",
        "LNBITS_EXCHANGE_RATE_PROVIDERS": "[]",
        "LNBITS_EXTENSIONS_MANIFESTS": "[]",
        "LNBITS_WASM_EXTENSIONS_MANIFESTS": "[]",
        "LNBITS_RATE_LIMIT_NO": "100000",
        "ENABLE_LOG_TO_FILE": "false",
        # Webhooks to 127.0.0.1: the default rules need a public domain name.
        "LNBITS_CALLBACK_URL_RULES": '[".*"]',
        "LNBITS_CALLBACK_ALLOW_PRIVATE_IPS": "true",
    }


def _inherited_env() -> dict[str, str]:
    """Our environment minus LNbits/LND settings, which would silently change the server."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("LNBITS_", "LND_"))
    }


class LNbitsServer:
    """A real LNbits process on 127.0.0.1 with a bootstrapped superuser.

    Everything lives in `data_dir`: the database, extensions, the log (`lnbits.log`) and the
    `lnbits/static` and `lnbits/templates` links that LNbits resolves from its working
    directory. A given `data_dir` is reused (restart); by default a fresh temporary directory
    is made, and kept after stop so its log can be read.
    """

    def __init__(
        self,
        funding: FundingSource | None = None,
        port: int | None = None,
        data_dir: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        lnbits_python: Path | None = None,
        *,
        username: str = _SUPERUSER_NAME,
        password: str | None = None,
        start_timeout: float = 60.0,
        extensions: Mapping[str, Path] | None = None,
    ) -> None:
        """`username`/`password` matter when `data_dir` already holds an installed LNbits:
        they log in instead of doing the first install (a random password is made when None).

        `extensions` (id -> source archive, see :func:`find_extension_archives`) are unpacked
        into the extensions folder before start, activated, and enabled for the superuser;
        other users enable them with :meth:`set_user_extensions`.
        """
        self.funding: FundingSource = funding or FakeWalletFunding()
        self._port = port
        self._data_dir = data_dir
        self._extra_env = dict(extra_env or {})
        self._lnbits_python = lnbits_python
        self._username = username
        self._password = password or secrets.token_urlsafe(24)
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        self._superuser: Superuser | None = None
        self._extensions = dict(extensions or {})

    # context manager

    def __enter__(self) -> LNbitsServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # properties

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LNbitsServer has no port before start()")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise RuntimeError("LNbitsServer has no data_dir before start()")
        return self._data_dir

    @property
    def log_path(self) -> Path:
        return self.data_dir / _LOG_NAME

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def superuser(self) -> Superuser:
        if self._superuser is None:
            raise RuntimeError("LNbitsServer is not bootstrapped: call start() first")
        return self._superuser

    # life cycle

    def start(self) -> None:
        """Start LNbits, wait until it answers, then make or log in the superuser.

        Raises `LNbitsUnavailable` when LNbits is not installed, `LNbitsStartError` when it
        exits, does not answer within `start_timeout`, or refuses the bootstrap.
        """
        if self.is_running:
            return
        python = self._lnbits_python or find_lnbits_python()
        if self._port is None:
            self._port = _free_port()
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="lnpilot-lnbits-"))
        self._link_assets(python)
        self._unpack_extensions()

        env = _inherited_env() | _offline_env(self.data_dir) | self.funding.env()
        env |= self._extra_env
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(python),
                    "-m",
                    "uvicorn",
                    "lnbits.__main__:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: Ctrl-C in a terminal reaches us, not LNbits directly,
                # so stop() decides the order of shutdown.
                start_new_session=True,
            )
        atexit.register(self.stop)
        # trust_env=False: a proxy from the environment must not intercept loopback calls.
        install_log_redaction()  # its login answer carries the super user's token
        self._client = httpx.Client(base_url=self.url, timeout=_HTTP_TIMEOUT, trust_env=False)
        try:
            installed = self._wait_until_up()
            self._bootstrap(first_install=not installed)
            self._activate_extensions()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop LNbits: SIGTERM, then SIGKILL after `timeout` seconds. Safe to call twice."""
        if self._client is not None:
            self._client.close()
            self._client = None
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, n: int = 40) -> str:
        """The last `n` lines of the LNbits log, for error messages."""
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as log:
                return "".join(deque(log, maxlen=n))
        except (OSError, RuntimeError):
            return "(no LNbits log)"

    # API helpers used to set up tests

    def login(self) -> str:
        """Log in as the superuser again; returns the new bearer token and keeps it."""
        response = self._http().post(
            "/api/v1/auth", json={"username": self._username, "password": self._password}
        )
        token = str(self._json(response, "log in")["access_token"])
        self._superuser = replace(self.superuser, access_token=token)
        return token

    def create_account(self, name: str) -> WalletKeys:
        """Create a new user with one wallet called `name` (no authentication needed)."""
        response = self._http().post("/api/v1/account", json={"name": name})
        return WalletKeys.from_api(self._json(response, f"create account {name!r}"))

    def fund(self, wallet_id: str, amount_sat: int) -> None:
        """Credit `amount_sat` to a wallet out of thin air (superuser top-up)."""
        response = self._http().put(
            "/users/api/v1/balance",
            json={"id": wallet_id, "amount": amount_sat},
            headers=self.auth_headers(),
        )
        self._json(response, f"fund wallet {wallet_id}")

    def create_funded_accounts(self, amounts: Mapping[str, int]) -> dict[str, WalletKeys]:
        """Create one account per name and fund it with the given sats."""
        wallets = {name: self.create_account(name) for name in amounts}
        for name, sats in amounts.items():
            self.fund(wallets[name].wallet_id, sats)
        return wallets

    def set_user_extensions(self, user_id: str, ext_ids: Sequence[str]) -> None:
        """Make exactly `ext_ids` the extensions enabled for a user (superuser call).

        Extension routes answer 403 to a user who has not enabled them. Accounts made by
        :meth:`create_account` have no password to log in with, and LNbits refuses `?usr=`
        logins by default, so the superuser's user update sets them (it replaces the list,
        and the user's name and email, which such accounts do not have).
        """
        response = self._http().put(
            f"/users/api/v1/user/{user_id}",
            json={"id": user_id, "extensions": list(ext_ids)},
            headers=self.auth_headers(),
        )
        self._json(response, f"set the extensions of user {user_id}")

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate as the superuser (bearer JWT)."""
        return {"Authorization": f"Bearer {self.superuser.access_token}"}

    # internals

    def _link_assets(self, python: Path) -> None:
        """Make `lnbits/static` and `lnbits/templates` resolvable from the working directory;
        without them LNbits dies at start-up."""
        package = self._package_dir(python)
        target = self.data_dir / "lnbits"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("static", "templates"):
            link = target / name
            if not link.exists():
                link.symlink_to(package / name, target_is_directory=True)

    @staticmethod
    def _package_dir(python: Path) -> Path:
        """Where the `lnbits` package is installed for that interpreter, without importing it
        (an import costs ~2 s)."""
        venv = python.parent.parent
        candidates = sorted(venv.glob("lib/python3.*/site-packages/lnbits"))
        if not candidates:
            raise LNbitsUnavailable(
                f"No lnbits package under {venv}/lib: run `make lnbits`, or set {VENV_ENV_VAR}."
            )
        return candidates[-1]

    def _unpack_extensions(self) -> None:
        """Unpack each archive (one folder named after the id) where LNbits finds installed
        extensions at start-up; it then registers them itself. Already there: kept."""
        folder = self.data_dir / "extensions"
        for ext_id, archive in self._extensions.items():
            if (folder / ext_id).is_dir():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(archive) as tar:
                tar.extractall(folder, filter="data")
            if not (folder / ext_id).is_dir():
                raise LNbitsStartError(f"{archive} did not unpack to a folder named {ext_id!r}")

    def _activate_extensions(self) -> None:
        """Activate the unpacked extensions (admin) and enable them for the superuser."""
        for ext_id in self._extensions:
            response = self._http().put(
                f"/api/v1/extension/{ext_id}/activate", headers=self.auth_headers()
            )
            self._json(response, f"activate extension {ext_id!r}")
            self._enable_for_superuser(ext_id)

    def _enable_for_superuser(self, ext_id: str) -> None:
        """Enable an extension for the superuser (LNbits forbids `?usr=` for admins)."""
        response = self._http().put(
            f"/api/v1/extension/{ext_id}/enable", headers=self.auth_headers()
        )
        self._json(response, f"enable extension {ext_id!r} for the superuser")

    def _wait_until_up(self) -> bool:
        """Poll until LNbits answers; returns whether its first install is already done.

        Until the first install every path answers 307 to /first_install, so the health
        check tells both that the server is up and whether it needs bootstrapping.
        """
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise LNbitsStartError(
                    f"LNbits exited with code {code} during start-up; log {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            try:
                response = self._http().get("/api/v1/health", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return response.status_code != 307
        raise LNbitsStartError(
            f"LNbits did not answer on {self.url} within {self._start_timeout:.0f} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def _bootstrap(self, *, first_install: bool) -> None:
        """Get a superuser token (first install or login) and the superuser's ids and keys."""
        credentials = {"username": self._username, "password": self._password}
        if first_install:
            response = self._http().put(
                "/api/v1/auth/first_install",
                json=credentials | {"password_repeat": self._password},
            )
            action = "do the first install"
        else:
            response = self._http().post("/api/v1/auth", json=credentials)
            action = f"log in as {self._username!r} (data_dir already installed)"
        token = str(self._json(response, action)["access_token"])
        headers = {"Authorization": f"Bearer {token}"}
        user = self._json(self._http().get("/api/v1/auth", headers=headers), "read superuser")
        self._superuser = Superuser(
            username=self._username,
            password=self._password,
            user_id=str(user["id"]),
            access_token=token,
            wallet=WalletKeys.from_api(user["wallets"][0]),
        )

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("LNbitsServer is not running: call start() first")
        return self._client

    def _json(self, response: httpx.Response, action: str) -> dict[str, Any]:
        """The JSON body of a successful response, or `LNbitsStartError` saying what failed
        (the body, not the request, goes in the message: requests carry secrets)."""
        if response.is_success:
            body: dict[str, Any] = response.json()
            return body
        raise LNbitsStartError(
            f"LNbits refused to {action}: HTTP {response.status_code} {response.text[:500]}"
        )


# --- hand use --------------------------------------------------------------------------------


def run_dev_server(
    port: int | None = None,
    data_dir: Path | None = None,
    funding: FundingSource | None = None,
    wallets: Mapping[str, int] = DEFAULT_WALLETS,
    out: TextIO = sys.stdout,
    extensions: Mapping[str, Path] | None = None,
) -> None:
    """Start LNbits, create and fund `wallets`, print how to use it, block until Ctrl-C.

    `extensions` (see :func:`find_extension_archives`) are installed and enabled for every
    wallet's user.

    Meant for `lnpilot dev lnbits`: printing credentials and keys is the point. SIGTERM is
    turned into the same clean stop as Ctrl-C, since atexit handlers do not run on it.
    """
    server = LNbitsServer(funding=funding, port=port, data_dir=data_dir, extensions=extensions)
    with _sigterm_as_interrupt():
        try:
            server.start()
            accounts = server.create_funded_accounts(wallets)
            for keys in accounts.values():
                if extensions:
                    server.set_user_extensions(keys.user_id, list(extensions))
            print(_describe(server, accounts, wallets), file=out, flush=True)
            while server.is_running:
                time.sleep(0.5)
            raise LNbitsStartError(f"LNbits exited unexpectedly:\n{server.log_tail()}")
        except KeyboardInterrupt:
            print("Stopping LNbits.", file=out, flush=True)
        finally:
            server.stop()


def _describe(
    server: LNbitsServer, accounts: Mapping[str, WalletKeys], sats: Mapping[str, int]
) -> str:
    """Everything needed to use the dev server by hand, secrets included."""
    su = server.superuser
    lines = [
        f"LNbits {LNBITS_VERSION} running at {server.url}  (data: {server.data_dir})",
        f"superuser: {su.username} / {su.password}  user id {su.user_id}",
        f"  bearer token: {su.access_token}",
        f"  wallet {su.wallet.wallet_id}  adminkey {su.wallet.adminkey}  inkey {su.wallet.inkey}",
    ]
    lines += [
        f"{name} ({sats[name]} sat): wallet {keys.wallet_id}  adminkey {keys.adminkey}  "
        f"inkey {keys.inkey}"
        for name, keys in accounts.items()
    ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Make SIGTERM raise KeyboardInterrupt meanwhile (signals can be set in the main thread
    only; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
