"""The super user's server settings (``client.admin.settings``) against a real LNbits: read
whole, printed only masked (the FakeWallet's secret, the super user's id are credentials)."""

from __future__ import annotations

import json

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.lnbits import LNbitsClient, MissingCredentialError
from lnpilot.lnbits.resources.admin import MASK, ServerSettings

from .conftest import MakeClient

pytestmark = pytest.mark.lnbits


async def test_settings_are_read_whole_and_masked_for_printing(
    superuser: LNbitsClient, lnbits_server: LNbitsServer
) -> None:
    settings = await superuser.admin.settings()
    raw = settings.values
    assert raw["lnbits_backend_wallet_class"] == "FakeWallet"
    assert raw["fake_wallet_secret"]  # LNbits does hand it out to the super user
    masked = settings.masked()
    assert masked["lnbits_backend_wallet_class"] == "FakeWallet"
    assert masked["fake_wallet_secret"] == MASK
    assert masked["lnd_rest_macaroon"] is None  # unset stays visible as unset
    assert masked["spark_l2_mnemonic_backup_confirmed"] is False  # a flag, not a secret
    printed = json.dumps(masked)
    assert raw["fake_wallet_secret"] not in printed
    assert lnbits_server.superuser.user_id not in printed
    assert set(masked) == set(raw)


async def test_a_wallet_key_alone_is_refused_before_sending(
    make_client: MakeClient, lnbits_server: LNbitsServer
) -> None:
    keys = lnbits_server.create_account("settings-reader")
    with pytest.raises(MissingCredentialError, match="needs the bearer token"):
        await make_client(invoice_key=keys.inkey, admin_key=keys.adminkey).admin.settings()


def test_passwords_inside_urls_and_secret_lists_are_masked() -> None:
    settings = ServerSettings(
        {
            "lnbits_price_aggregator_url": "https://user:hunter-2-zz@prices.example/api",
            "lnbits_admin_users": ["0f3a", "9b1c"],
            "lnbits_site_title": "Shop",
            "lnbits_allowed_funding_sources": ["FakeWallet", "LndRestWallet"],
        }
    )
    assert settings.masked() == {
        "lnbits_admin_users": MASK,
        "lnbits_allowed_funding_sources": ["FakeWallet", "LndRestWallet"],
        "lnbits_price_aggregator_url": "https://***@prices.example/api",
        "lnbits_site_title": "Shop",
    }
