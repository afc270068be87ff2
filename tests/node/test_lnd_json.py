"""The LND JSON mapping, against messages shaped as LND's swagger defines them.

Each sample below is what LND 0.18 writes (int64 as strings, bytes as base64, every field
present), and a first test checks the samples themselves against the swagger files, so a
typo in a sample cannot make a parser look right. Variants with fields missing stand for
older LND versions.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lnpilot.base.domain import (
    ChannelPolicy,
    ChannelState,
    CloseType,
    Initiator,
    PolicyUpdate,
    chan_id_from_scid,
)
from lnpilot.node import lnd_json as lj
from shared_files import shared_path

US = "03" + "a1" * 32
CAROL = "02" + "c3" * 32
TXID = "9b" * 31 + "01"
CHAN_ID = chan_id_from_scid("800123x45x1")
HASH = hashlib.sha256(b"preimage").digest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


CHANNEL: dict[str, Any] = {
    "active": True,
    "remote_pubkey": CAROL,
    "channel_point": f"{TXID}:1",
    "chan_id": str(CHAN_ID),
    "capacity": "2000000",
    "local_balance": "1234567",
    "remote_balance": "760000",
    "commit_fee": "2810",
    "commit_weight": "1116",
    "fee_per_kw": "2500",
    "unsettled_balance": "5000",
    "total_satoshis_sent": "42000",
    "total_satoshis_received": "43000",
    "num_updates": "120",
    "pending_htlcs": [
        {
            "incoming": True,
            "amount": "5000",
            "hash_lock": b64(HASH),
            "expiration_height": 800200,
            "htlc_index": "7",
            "forwarding_channel": "0",
            "forwarding_htlc_index": "0",
            "locked_in": True,
        }
    ],
    "csv_delay": 144,
    "private": False,
    "initiator": True,
    "chan_status_flags": "ChanStatusDefault",
    "local_chan_reserve_sat": "20000",
    "remote_chan_reserve_sat": "20000",
    "static_remote_key": False,
    "commitment_type": "ANCHORS",
    "lifetime": "86400",
    "uptime": "86000",
    "close_address": "",
    "push_amount_sat": "0",
    "thaw_height": 0,
    "local_constraints": {
        "csv_delay": 144,
        "chan_reserve_sat": "20000",
        "dust_limit_sat": "354",
        "max_pending_amt_msat": "1980000000",
        "min_htlc_msat": "1",
        "max_accepted_htlcs": 483,
    },
    "remote_constraints": {
        "csv_delay": 144,
        "chan_reserve_sat": "19000",
        "dust_limit_sat": "354",
        "max_pending_amt_msat": "1980000000",
        "min_htlc_msat": "1",
        "max_accepted_htlcs": 483,
    },
    "alias_scids": [],
    "zero_conf": False,
    "zero_conf_confirmed_scid": "0",
    "peer_alias": "carol",
    "peer_scid_alias": "0",
    "memo": "",
    "custom_channel_data": "",
}


def _pending_channel(point: str, initiator: str) -> dict[str, Any]:
    return {
        "remote_node_pub": CAROL,
        "channel_point": point,
        "capacity": "500000",
        "local_balance": "496530",
        "remote_balance": "0",
        "local_chan_reserve_sat": "5000",
        "remote_chan_reserve_sat": "5000",
        "initiator": initiator,
        "commitment_type": "ANCHORS",
        "num_forwarding_packages": "0",
        "chan_status_flags": "",
        "private": False,
        "memo": "",
        "custom_channel_data": "",
    }


PENDING: dict[str, Any] = {
    "total_limbo_balance": "300000",
    "pending_open_channels": [
        {
            "channel": _pending_channel(f"{'aa' * 32}:0", "INITIATOR_LOCAL"),
            "commit_fee": "3470",
            "commit_weight": "772",
            "fee_per_kw": "2500",
            "funding_expiry_blocks": 2014,
            "confirmations_until_active": 2,
            "confirmation_height": 0,
        }
    ],
    "pending_closing_channels": [],
    "pending_force_closing_channels": [
        {
            "channel": _pending_channel(f"{'bb' * 32}:1", "INITIATOR_REMOTE"),
            "closing_txid": "cc" * 32,
            "limbo_balance": "200000",
            "maturity_height": 800300,
            "blocks_til_maturity": 120,
            "recovered_balance": "0",
            "pending_htlcs": [],
            "anchor": "LIMBO",
        }
    ],
    "waiting_close_channels": [
        {
            "channel": _pending_channel(f"{'dd' * 32}:0", "INITIATOR_BOTH"),
            "limbo_balance": "100000",
            "commitments": {
                "local_txid": "ee" * 32,
                "remote_txid": "",
                "remote_pending_txid": "",
                "local_commit_fee_sat": "2810",
                "remote_commit_fee_sat": "0",
                "remote_pending_commit_fee_sat": "0",
            },
            "closing_txid": "ee" * 32,
            "closing_tx_hex": "",
            "blocks_til_close_confirmed": 1,
            "close_height": 0,
        }
    ],
}

CLOSED: dict[str, Any] = {
    "channel_point": f"{TXID}:0",
    "chan_id": str(chan_id_from_scid("700000x10x0")),
    "chain_hash": "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    "closing_tx_hash": "ff" * 32,
    "remote_pubkey": CAROL,
    "capacity": "1000000",
    "close_height": 800010,
    "settled_balance": "480000",
    "time_locked_balance": "0",
    "close_type": "REMOTE_FORCE_CLOSE",
    "open_initiator": "INITIATOR_LOCAL",
    "close_initiator": "INITIATOR_REMOTE",
    "resolutions": [],
    "alias_scids": [],
    "zero_conf_confirmed_scid": "0",
    "custom_channel_data": "",
}

PEER: dict[str, Any] = {
    "pub_key": CAROL,
    "address": "10.0.0.3:9735",
    "bytes_sent": "1000",
    "bytes_recv": "2000",
    "sat_sent": "0",
    "sat_recv": "0",
    "inbound": False,
    "ping_time": "1520",
    "sync_type": "ACTIVE_SYNC",
    "features": {},
    "errors": [],
    "flap_count": 3,
    "last_flap_ns": "1717000000123456789",
    "last_ping_payload": "",
}

INFO: dict[str, Any] = {
    "version": "0.18.5-beta commit=v0.18.5-beta",
    "commit_hash": "",
    "identity_pubkey": US,
    "alias": "bob",
    "color": "#3399ff",
    "num_pending_channels": 1,
    "num_active_channels": 12,
    "num_inactive_channels": 1,
    "num_peers": 14,
    "block_height": 850000,
    "block_hash": "00" * 32,
    "best_header_timestamp": "1717000000",
    "synced_to_chain": True,
    "synced_to_graph": False,
    "testnet": False,
    "chains": [{"chain": "bitcoin", "network": "mainnet"}],
    "uris": [f"{US}@203.0.113.5:9735"],
    "features": {},
    "require_htlc_interceptor": False,
    "store_final_htlc_resolutions": False,
}


def _policy(base: str, rate: str, inbound_base: int, inbound_rate: int) -> dict[str, Any]:
    return {
        "time_lock_delta": 144,
        "min_htlc": "1000",
        "fee_base_msat": base,
        "fee_rate_milli_msat": rate,
        "disabled": False,
        "max_htlc_msat": "990000000",
        "last_update": 1717000000,
        "custom_records": {},
        "inbound_fee_base_msat": inbound_base,
        "inbound_fee_rate_milli_msat": inbound_rate,
    }


EDGE: dict[str, Any] = {
    "channel_id": str(CHAN_ID),
    "chan_point": f"{TXID}:1",
    "last_update": 1717000000,
    "node1_pub": CAROL,  # carol's key sorts first, so we are node2
    "node2_pub": US,
    "capacity": "2000000",
    "node1_policy": _policy("1000", "10", 0, 0),
    "node2_policy": _policy("2500", "350", -1000, -25),
    "custom_records": {},
}

FORWARD: dict[str, Any] = {
    "timestamp": "1717000001",
    "chan_id_in": str(chan_id_from_scid("650000x1x2")),
    "chan_id_out": str(CHAN_ID),
    "amt_in": "100350",
    "amt_out": "100000",
    "fee": "35",
    "fee_msat": "35002",
    "amt_in_msat": "100035002",
    "amt_out_msat": "100000000",
    "timestamp_ns": "1717000001000123456",
    "peer_alias_in": "",
    "peer_alias_out": "",
    "incoming_htlc_id": "17",
    "outgoing_htlc_id": "4",
}

HOP_KEYS = ("02" + "11" * 32, "02" + "22" * 32, US)

ROUTE: dict[str, Any] = {
    "total_time_lock": 800300,
    "total_fees": "2",
    "total_amt": "50002",
    "hops": [
        {
            "chan_id": str(CHAN_ID + i),
            "chan_capacity": "1000000",
            "amt_to_forward": "50000" if i else "50001",
            "fee": "0",
            "expiry": 800200 - 40 * i,
            "amt_to_forward_msat": "50000000" if i else "50001500",
            "fee_msat": "0" if i == 2 else "1000",
            "pub_key": key,
            "tlv_payload": True,
            "custom_records": {},
            "metadata": "",
            "blinding_point": "",
            "encrypted_data": "",
            "total_amt_msat": "0",
        }
        for i, key in enumerate(HOP_KEYS)
    ],
    "total_fees_msat": "2500",
    "total_amt_msat": "50002500",
    "first_hop_amount_msat": "50002500",
    "custom_channel_data": "",
}
ROUTE["hops"][-1]["mpp_record"] = {"payment_addr": b64(b"\x07" * 32), "total_amt_msat": "50000000"}

# --- the samples are LND's shape --------------------------------------------------------------


class Swagger:
    """Just enough of LND's swagger to catch a sample that LND could not have written."""

    INT64 = frozenset({"int64", "uint64"})

    def __init__(self, spec_dir: Path) -> None:
        self.defs: dict[str, Any] = {}
        for name in ("lightning", "router"):
            self.defs.update(
                json.loads((spec_dir / f"{name}.swagger.json").read_text())["definitions"]
            )

    def check(self, definition: str, value: Any, where: str = "$") -> list[str]:
        props = self.defs[definition].get("properties", {})
        errors = [f"{where}.{k}: not in {definition}" for k in value if k not in props]
        for key, item in value.items():
            schema = props.get(key, {})
            errors += self._check_field(schema, item, f"{where}.{key}")
        return errors

    def _check_field(self, schema: dict[str, Any], item: Any, where: str) -> list[str]:
        if "$ref" in schema:
            ref = schema["$ref"].rsplit("/", 1)[-1]
            return self.check(ref, item, where) if isinstance(item, dict) else []
        if schema.get("type") == "array":
            return [e for x in item for e in self._check_field(schema["items"], x, where + "[]")]
        if schema.get("format") in self.INT64 and schema.get("type") == "string":
            return [] if isinstance(item, str) else [f"{where}: 64-bit integer must be a string"]
        if schema.get("format") == "byte":
            return [] if isinstance(item, str) else [f"{where}: bytes must be base64 text"]
        return []


def swagger() -> Swagger:
    """LND's swagger from the shared material; the test is skipped without it (fails on CI)
    after the checks it made that need no specification."""
    return Swagger(shared_path("specs", "lnd"))


SAMPLES = [
    ("lnrpcChannel", CHANNEL),
    ("lnrpcPendingChannelsResponse", PENDING),
    ("lnrpcChannelCloseSummary", CLOSED),
    ("lnrpcPeer", PEER),
    ("lnrpcGetInfoResponse", INFO),
    ("lnrpcChannelEdge", EDGE),
    ("lnrpcForwardingEvent", FORWARD),
    ("lnrpcRoute", ROUTE),
]


@pytest.mark.parametrize(("definition", "sample"), SAMPLES, ids=[d for d, _ in SAMPLES])
def test_samples_are_shaped_as_lnd_swagger_says(definition: str, sample: dict[str, Any]) -> None:
    assert swagger().check(definition, sample) == []


# --- reads ----------------------------------------------------------------------------------


def test_channel() -> None:
    chan = lj.parse_channel(CHANNEL)
    assert (chan.scid, chan.chan_id, chan.channel_point) == ("800123x45x1", CHAN_ID, f"{TXID}:1")
    assert chan.peer_pubkey == CAROL and chan.peer_alias == "carol"
    assert chan.capacity_sat == 2_000_000
    assert (chan.local_balance_msat, chan.remote_balance_msat) == (1_234_567_000, 760_000_000)
    assert chan.state is ChannelState.ACTIVE and chan.initiator is Initiator.LOCAL
    assert (chan.local_reserve_sat, chan.remote_reserve_sat) == (20_000, 19_000)
    assert chan.unsettled_balance_msat == 5_000_000 and chan.num_pending_htlcs == 1
    assert (chan.total_sent_msat, chan.total_received_msat) == (42_000_000, 43_000_000)
    assert (chan.uptime_s, chan.lifetime_s, chan.opened_at_height) == (86_000, 86_400, 800_123)


def test_inactive_channel_of_an_older_lnd_without_constraints() -> None:
    old = {k: v for k, v in CHANNEL.items() if not k.endswith("_constraints")}
    chan = lj.parse_channel({**old, "active": False, "initiator": False, "peer_alias": ""})
    assert chan.state is ChannelState.INACTIVE and chan.initiator is Initiator.REMOTE
    assert chan.peer_alias is None
    assert (chan.local_reserve_sat, chan.remote_reserve_sat) == (20_000, 20_000)


def test_pending_htlcs_of_a_channel() -> None:
    (htlc,) = lj.parse_pending_htlcs(CHANNEL)
    assert htlc.chan_id == CHAN_ID and htlc.incoming
    assert (htlc.amount_msat, htlc.expiration_height) == (5_000_000, 800_200)
    assert htlc.hash_lock == HASH.hex()


def test_pending_channels_opening_then_closing() -> None:
    opening, waiting, forcing = lj.parse_pending_channels(PENDING)
    assert opening.state is ChannelState.PENDING_OPEN and opening.initiator is Initiator.LOCAL
    assert opening.scid is None and opening.chan_id is None
    assert opening.channel_point == f"{'aa' * 32}:0" and opening.peer_pubkey == CAROL
    assert (opening.capacity_sat, opening.local_balance_msat) == (500_000, 496_530_000)
    assert waiting.state is ChannelState.PENDING_CLOSE and waiting.initiator is Initiator.BOTH
    assert forcing.state is ChannelState.PENDING_CLOSE and forcing.channel_point.endswith(":1")


def test_closed_channel() -> None:
    closed = lj.parse_closed_channel(CLOSED)
    assert (closed.scid, closed.channel_point) == ("700000x10x0", f"{TXID}:0")
    assert closed.close_type is CloseType.REMOTE_FORCE
    assert (closed.open_initiator, closed.close_initiator) == (Initiator.LOCAL, Initiator.REMOTE)
    assert (closed.settled_balance_sat, closed.capacity_sat) == (480_000, 1_000_000)
    assert (closed.closing_txid, closed.close_height) == ("ff" * 32, 800_010)


def test_channel_whose_funding_was_canceled_has_no_scid() -> None:
    closed = lj.parse_closed_channel({**CLOSED, "chan_id": "0", "close_type": "FUNDING_CANCELED"})
    assert (closed.scid, closed.chan_id) == (None, None)
    assert closed.close_type is CloseType.FUNDING_CANCELED


def test_peer_and_info() -> None:
    peer = lj.parse_peer(PEER)
    assert (peer.pubkey, peer.address, peer.ping_time_us, peer.flap_count) == (
        CAROL,
        "10.0.0.3:9735",
        1520,
        3,
    )
    assert peer.last_flap_at == datetime(2024, 5, 29, 16, 26, 40, 123456, tzinfo=UTC)
    info = lj.parse_info(INFO)
    assert (info.pubkey, info.alias, info.block_height) == (US, "bob", 850_000)
    assert (info.synced_to_chain, info.synced_to_graph) == (True, False)
    assert (info.num_active_channels, info.num_peers) == (12, 14)
    assert info.uris == (f"{US}@203.0.113.5:9735",)


def test_edge_policies_are_told_apart_by_our_pubkey() -> None:
    ours, theirs = lj.edge_policies(EDGE, US)
    assert ours == ChannelPolicy(
        base_fee_msat=2500,
        fee_rate_ppm=350,
        inbound_base_fee_msat=-1000,
        inbound_fee_rate_ppm=-25,
        min_htlc_msat=1000,
        max_htlc_msat=990_000_000,
        cltv_delta=144,
        disabled=False,
        last_update=datetime(2024, 5, 29, 16, 26, 40, tzinfo=UTC),
    )
    assert theirs is not None and (theirs.base_fee_msat, theirs.fee_rate_ppm) == (1000, 10)
    assert lj.edge_policies({**EDGE, "node2_policy": None}, US)[0] is None


def test_policy_of_an_lnd_without_inbound_fees_reads_as_no_inbound_fee() -> None:
    old = {k: v for k, v in EDGE["node2_policy"].items() if not k.startswith("inbound")}
    policy = lj.parse_policy(old)
    assert policy is not None
    assert (policy.inbound_base_fee_msat, policy.inbound_fee_rate_ppm) == (0, 0)


def test_forward_prefers_nanoseconds_and_tolerates_an_older_lnd() -> None:
    fwd = lj.parse_forward(FORWARD)
    assert fwd.timestamp_ns == 1_717_000_001_000_123_456
    assert fwd.timestamp == datetime(2024, 5, 29, 16, 26, 41, 123, tzinfo=UTC)
    assert (fwd.chan_id_out, fwd.amt_in_msat, fwd.amt_out_msat) == (
        CHAN_ID,
        100_035_002,
        100_000_000,
    )
    assert (fwd.fee_msat, fwd.incoming_htlc_id, fwd.outgoing_htlc_id) == (35_002, 17, 4)
    old = {k: v for k, v in FORWARD.items() if not k.endswith("htlc_id")}
    old_fwd = lj.parse_forward({**old, "timestamp_ns": "0"})
    assert old_fwd.timestamp_ns == 1_717_000_001 * 10**9
    assert (old_fwd.incoming_htlc_id, old_fwd.outgoing_htlc_id) == (None, None)


# --- policy updates ------------------------------------------------------------------------

CURRENT = lj.parse_policy(EDGE["node2_policy"])


def test_fee_update_resends_what_lnd_would_reset_and_keeps_the_inbound_fee() -> None:
    body = lj.policy_update_json(f"{TXID}:1", PolicyUpdate(fee_rate_ppm=400), CURRENT)
    assert body == {
        "chan_point": {"funding_txid_str": TXID, "output_index": 1},
        "base_fee_msat": "2500",
        "fee_rate_ppm": 400,
        "time_lock_delta": 144,
        "inbound_fee": {"base_fee_msat": -1000, "fee_rate_ppm": -25},
    }
    assert swagger().check("lnrpcPolicyUpdateRequest", body) == []


def test_half_an_inbound_fee_keeps_the_other_half() -> None:
    body = lj.policy_update_json(f"{TXID}:1", PolicyUpdate(inbound_fee_rate_ppm=-60), CURRENT)
    assert body["inbound_fee"] == {"base_fee_msat": -1000, "fee_rate_ppm": -60}


def test_htlc_limits_are_sent_only_when_updated() -> None:
    update = PolicyUpdate(min_htlc_msat=5000, max_htlc_msat=400_000_000, cltv_delta=40)
    body = lj.policy_update_json(f"{TXID}:1", update, CURRENT)
    assert (body["min_htlc_msat"], body["min_htlc_msat_specified"]) == ("5000", True)
    assert (body["max_htlc_msat"], body["time_lock_delta"]) == ("400000000", 40)
    plain = lj.policy_update_json(f"{TXID}:1", PolicyUpdate(base_fee_msat=0), CURRENT)
    assert not {"min_htlc_msat", "min_htlc_msat_specified", "max_htlc_msat"} & set(plain)


def test_zero_inbound_fee_is_not_sent() -> None:
    no_inbound = ChannelPolicy(base_fee_msat=1, fee_rate_ppm=1, cltv_delta=80,
                               inbound_base_fee_msat=0, inbound_fee_rate_ppm=0)  # fmt: skip
    body = lj.policy_update_json(f"{TXID}:1", PolicyUpdate(fee_rate_ppm=5), no_inbound)
    assert "inbound_fee" not in body


def test_an_unknown_current_policy_must_be_given_in_full() -> None:
    with pytest.raises(ValueError, match=r"current CLTV delta .* is unknown"):
        lj.policy_update_json(f"{TXID}:1", PolicyUpdate(base_fee_msat=1, fee_rate_ppm=1), None)
    full = PolicyUpdate(base_fee_msat=1, fee_rate_ppm=2, cltv_delta=80)
    assert lj.policy_update_json(f"{TXID}:1", full, None)["time_lock_delta"] == 80
    with pytest.raises(ValueError, match="TXID:INDEX"):
        lj.policy_update_json("not-a-point", full, None)


# --- HTLC events ---------------------------------------------------------------------------


def _event(
    kind: str, body: dict[str, Any], *, in_htlc: int, out_htlc: int, t: int, **kw: Any
) -> dict[str, Any]:
    return {
        "incoming_channel_id": str(kw.get("chan_in", 111)),
        "outgoing_channel_id": str(kw.get("chan_out", 222)),
        "incoming_htlc_id": str(in_htlc),
        "outgoing_htlc_id": str(out_htlc),
        "timestamp_ns": str(1_717_000_000 * 10**9 + t * 1_000_000),  # t in ms
        "event_type": kw.get("event_type", "FORWARD"),
        kind: body,
    }


def _info(amt_in: int, amt_out: int) -> dict[str, Any]:
    return {
        "incoming_timelock": 800200,
        "outgoing_timelock": 800160,
        "incoming_amt_msat": str(amt_in),
        "outgoing_amt_msat": str(amt_out),
    }


def _link_fail(wire: str, detail: str, amt: int) -> dict[str, Any]:
    return {
        "info": _info(amt + 100, amt),
        "wire_failure": wire,
        "failure_detail": detail,
        "failure_string": "",
    }


def test_failed_forward_buffer_keeps_failures_with_their_reason() -> None:
    buffer = lj.FailedForwardBuffer()
    events = [
        _event("forward_event", {"info": _info(1100, 1000)}, in_htlc=1, out_htlc=1, t=1),
        _event("settle_event", {"preimage": b64(b"\x01" * 32)}, in_htlc=1, out_htlc=1, t=2),
        _event("forward_event", {"info": _info(2200, 2000)}, in_htlc=2, out_htlc=2, t=3),
        _event("forward_fail_event", {}, in_htlc=2, out_htlc=2, t=4),
        _event(
            "link_fail_event",
            _link_fail("TEMPORARY_CHANNEL_FAILURE", "INSUFFICIENT_BALANCE", 3000),
            in_htlc=3,
            out_htlc=0,
            t=5,
        ),
        _event(
            "link_fail_event",
            _link_fail("FEE_INSUFFICIENT", "NO_DETAIL", 4000),
            in_htlc=4,
            out_htlc=0,
            t=6,
        ),
        _event(  # our own payment failing is not a failed forward
            "link_fail_event",
            _link_fail("TEMPORARY_CHANNEL_FAILURE", "INSUFFICIENT_BALANCE", 5000),
            in_htlc=0,
            out_htlc=0,
            t=7,
            event_type="SEND",
        ),
    ]
    for event in events:
        assert swagger().check("routerrpcHtlcEvent", event) == []
        buffer.add(event)
    downstream, balance, fee = buffer.since(datetime(2024, 1, 1, tzinfo=UTC))
    assert (downstream.failure, downstream.amt_in_msat, downstream.amt_out_msat) == (
        lj.DOWNSTREAM_FAILURE,
        2200,
        2000,
    )
    assert (downstream.incoming_htlc_id, downstream.outgoing_htlc_id) == (2, 2)
    assert (balance.failure, balance.amt_out_msat, balance.outgoing_htlc_id) == (
        "INSUFFICIENT_BALANCE",
        3000,
        None,
    )
    assert balance.for_lack_of_liquidity and not fee.for_lack_of_liquidity
    assert (fee.failure, fee.chan_id_in, fee.chan_id_out) == ("FEE_INSUFFICIENT", 111, 222)
    assert buffer.since(fee.timestamp) == [fee]


def test_failed_forward_buffer_is_bounded() -> None:
    buffer = lj.FailedForwardBuffer(capacity=2)
    for i in range(5):
        buffer.add(_event("forward_event", {"info": _info(10, 9)}, in_htlc=i, out_htlc=i, t=i))
        buffer.add(_event("forward_fail_event", {}, in_htlc=i, out_htlc=i, t=i))
    assert [f.incoming_htlc_id for f in buffer.since(datetime(2024, 1, 1, tzinfo=UTC))] == [3, 4]


# --- routes --------------------------------------------------------------------------------


def test_route_round_trip_keeps_the_payment_address() -> None:
    route = lj.parse_route(ROUTE)
    assert (route.total_amt_msat, route.total_fees_msat, route.total_time_lock) == (
        50_002_500,
        2500,
        800_300,
    )
    assert [h.pubkey for h in route.hops] == list(HOP_KEYS)
    assert route.hops[0].amt_to_forward_msat == 50_001_500 and route.hops[0].fee_msat == 1000
    assert route.payment_addr == "07" * 32
    sent = lj.route_json(route)
    assert swagger().check("lnrpcRoute", sent) == []
    assert sent["hops"][-1]["mpp_record"] == ROUTE["hops"][-1]["mpp_record"]
    assert "amt_to_forward" not in sent["hops"][0]  # LND refuses sat and msat together
    assert lj.parse_route(sent) == route


def test_attempt_outcomes() -> None:
    won = lj.parse_attempt({"status": "SUCCEEDED", "preimage": b64(b"preimage".ljust(32, b"\0"))})
    assert won.succeeded and won.preimage == b"preimage".ljust(32, b"\0").hex()
    lost = lj.parse_attempt(
        {
            "status": "FAILED",
            "preimage": "",
            "failure": {"code": "TEMPORARY_CHANNEL_FAILURE", "failure_source_index": 2},
        }
    )
    assert not lost.succeeded and lost.preimage is None
    assert (lost.failure, lost.failure_source_index) == ("TEMPORARY_CHANNEL_FAILURE", 2)


def test_added_invoice_gives_hash_and_payment_address_in_hex() -> None:
    answer = {
        "r_hash": b64(HASH),
        "payment_request": "lnbcrt400u1p...",
        "add_index": "12",
        "payment_addr": b64(b"\x09" * 32),
    }
    assert swagger().check("lnrpcAddInvoiceResponse", answer) == []
    invoice = lj.parse_added_invoice(answer, 40_000_000)
    assert (invoice.payment_hash, invoice.payment_addr) == (HASH.hex(), "09" * 32)
    assert (invoice.payment_request, invoice.value_msat) == ("lnbcrt400u1p...", 40_000_000)


def test_channel_point_in_byte_form_is_reversed() -> None:
    raw = bytes.fromhex(TXID)[::-1]
    assert lj.channel_point_text({"funding_txid_bytes": b64(raw), "output_index": 3}) == (
        f"{TXID}:3"
    )
