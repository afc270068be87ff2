"""Test support that runs real services: a real LNbits server in a subprocess."""

from lnpilot.testing.lnbits_server import (
    DEFAULT_WALLETS,
    FakeWalletFunding,
    FundingSource,
    LNbitsError,
    LNbitsServer,
    LNbitsUnavailable,
    LndRestFunding,
    Superuser,
    WalletKeys,
    find_lnbits_python,
    lnbits_required,
    run_dev_server,
)

__all__ = [
    "DEFAULT_WALLETS",
    "FakeWalletFunding",
    "FundingSource",
    "LNbitsError",
    "LNbitsServer",
    "LNbitsUnavailable",
    "LndRestFunding",
    "Superuser",
    "WalletKeys",
    "find_lnbits_python",
    "lnbits_required",
    "run_dev_server",
]
