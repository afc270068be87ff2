"""Health probes: each backend asked, timed, and what it says about the chain and HTLCs.

The collector records what the node holds; whether the node (or LNbits in front of it)
answers at all, how fast, whether it is synced, and its on-chain balance and pending
HTLCs are what the node-level rules need on top, and only a live call tells. The probe
result is stored (``monitor_probes``), and the rules read it from there like everything
else. A backend behind a composite is probed on its own, so "LNbits down, LND fine" is
told apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from lnpilot.base.domain import Capability
from lnpilot.base.redact import redact_text
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.node.composite import CompositeNode
from lnpilot.node.lnbits_node import LNbitsNode
from lnpilot.store.alerts import Probe
from lnpilot.store.records import JsonValue

log = logging.getLogger("lnpilot.monitor.probe")

#: Longest error text kept: enough to say what went wrong, not a response body.
_ERROR_CHARS = 300


async def probe_node(node: NodeBackend, now: datetime, timeout_s: float = 10.0) -> list[Probe]:
    """One probe per backend (each of a composite's), made concurrently."""
    backends = node.backends if isinstance(node, CompositeNode) else (node,)
    return list(await asyncio.gather(*(_probe(b, now, timeout_s) for b in backends)))


async def _probe(backend: NodeBackend, now: datetime, timeout_s: float) -> Probe:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            info = await backend.get_info()
            latency_ms = (time.monotonic() - started) * 1000
            onchain = (
                await backend.onchain_balance()
                if Capability.READ_ONCHAIN in backend.capabilities
                else None
            )
            htlcs: tuple[dict[str, JsonValue], ...] | None = None
            if Capability.READ_PENDING_HTLCS in backend.capabilities:
                htlcs = tuple(
                    {
                        "chan_id": h.chan_id,
                        "incoming": h.incoming,
                        "amount_msat": h.amount_msat,
                        "expiration_height": h.expiration_height,
                    }
                    for h in await backend.pending_htlcs()
                )
            advisories = await read_extension_advisories(backend)
    except TimeoutError:
        return Probe(now, backend.name, ok=False, error=f"no answer within {timeout_s:g} s")
    except Exception as exc:  # any failure to answer is what this probe reports
        error = redact_text(f"{type(exc).__name__}: {exc}")[:_ERROR_CHARS]
        return Probe(now, backend.name, ok=False, error=error)
    return Probe(
        at=now,
        backend=backend.name,
        ok=True,
        latency_ms=latency_ms,
        block_height=info.block_height,
        synced_to_chain=info.synced_to_chain,
        onchain_confirmed_sat=onchain.confirmed_sat if onchain is not None else None,
        pending_htlcs=htlcs,
        extension_advisories=advisories,
    )


async def read_extension_advisories(
    backend: NodeBackend,
) -> tuple[dict[str, JsonValue], ...] | None:
    """What LNbits says of its installed extensions' known security problems; None for
    other backends, or when LNbits will not list them (that is not a failed probe)."""
    if not isinstance(backend, LNbitsNode):
        return None
    try:
        findings = await backend.extension_advisories()
    except NodeError as exc:
        log.info("extension list not read: %s", redact_text(str(exc))[:_ERROR_CHARS])
        return None
    return tuple(dict(f.as_json()) for f in findings)
