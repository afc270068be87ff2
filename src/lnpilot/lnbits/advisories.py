"""Known security problems of LNbits extension releases, and which installed ones have them.

Each advisory states a problem recorded against a real release (the shared contracts were
recorded on LNDHub 1.0.2, UserManager 1.0.0 and Boltz 1.1.0) and what an operator can do.
No fixed release is known, so every installed version up to the recorded one counts as
affected; a newer one is "unverified" (it may or may not have changed), never "safe".
LNbits reports a version of "0.0" for an extension whose folder does not say: that is
treated as affected, since nothing shows it is newer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lnpilot.lnbits.models import AvailableExtension


@dataclass(frozen=True)
class Advisory:
    ext_id: str
    recorded_version: str
    problem: str
    what_to_do: str


ADVISORIES: tuple[Advisory, ...] = (
    Advisory(
        "lndhub",
        "1.0.2",
        "LNDHub's /auth accepts any password and returns a token for it; the token is only "
        "base64(login:wallet key), so the wallet key itself is the credential, carried by "
        "every LNDHub URL and request.",
        "Serve LNbits over HTTPS only; treat an LNDHub URL as the wallet's key; hand out the "
        "invoice-key URL unless the app must spend; reset the wallet's keys if a URL leaked.",
    ),
    Advisory(
        "usermanager",
        "1.0.0",
        "UserManager checks no ownership: any user who enabled it can read other users' "
        "wallets with their admin keys, read any wallet's transactions, add wallets to and "
        "delete users they did not create; its /extensions route lets anyone, without a "
        "key, enable or disable any extension for any user.",
        "Enable UserManager for trusted operator accounts only, never for end users; keep "
        "account creation closed (admin-only); deactivate it where it is not needed.",
    ),
    Advisory(
        "boltz",
        "1.1.0",
        "Boltz does not check the wallet in a request body against the key: any admin key "
        "with Boltz enabled can create a reverse swap that pays out of ANOTHER user's "
        "wallet to an address of its choice; auto-swap deletion checks no owner; invoice "
        "keys see claim/refund private keys and preimages; reverse-swap claims are never "
        "broadcast.",
        "On an LNbits with several users, deactivate Boltz or enable it for the admin only; "
        "do not share invoice keys of wallets with swaps; claim reverse swaps yourself with "
        "the claim key instead of trusting 'complete'.",
    ),
)

Verdict = Literal["affected", "unverified"]


@dataclass(frozen=True)
class AdvisoryFinding:
    advisory: Advisory
    installed_version: str | None
    active: bool
    verdict: Verdict

    @property
    def ext_id(self) -> str:
        return self.advisory.ext_id

    def as_json(self) -> dict[str, str | bool | None]:
        """The finding as the CLI prints it and the monitor's probes store it."""
        return {
            "extension": self.ext_id,
            "installed_version": self.installed_version,
            "recorded_version": self.advisory.recorded_version,
            "active": self.active,
            "verdict": self.verdict,
            "problem": self.advisory.problem,
            "what_to_do": self.advisory.what_to_do,
        }


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in (text or "").split("."))
    except ValueError:
        return None


def check_extensions(installed: Sequence[AvailableExtension]) -> list[AdvisoryFinding]:
    """The advisories that apply to the installed extensions, in advisory order."""
    by_id = {e.id: e for e in installed if e.is_installed}
    findings = []
    for advisory in ADVISORIES:
        ext = by_id.get(advisory.ext_id)
        if ext is None:
            continue
        version = _version(ext.installed_version)
        recorded = _version(advisory.recorded_version)
        newer = version is not None and recorded is not None and version > recorded
        findings.append(
            AdvisoryFinding(
                advisory,
                ext.installed_version,
                ext.is_active,
                "unverified" if newer else "affected",
            )
        )
    return findings
