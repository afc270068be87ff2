"""Test support that runs real services: a real LNbits, and a fault-injecting proxy."""

from lnpilot.devtools.fault_proxy import Fault, FaultProxy, RequestRecord, ThreadedFaultProxy
from lnpilot.devtools.lnbits_server import (
    DEFAULT_WALLETS,
    FakeWalletFunding,
    FundingSource,
    LNbitsServer,
    LNbitsStartError,
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
    "Fault",
    "FaultProxy",
    "FundingSource",
    "LNbitsServer",
    "LNbitsStartError",
    "LNbitsUnavailable",
    "LndRestFunding",
    "RequestRecord",
    "Superuser",
    "ThreadedFaultProxy",
    "WalletKeys",
    "find_lnbits_python",
    "lnbits_required",
    "run_dev_server",
]
