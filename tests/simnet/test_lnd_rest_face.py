"""What the LND REST face does, as LND does it: policy updates, payments, routes, streams.

The spec test checks the shape of every answer; these check the meaning a manager and
LNbits rely on, by acting through the face and reading the simulation (or the face) back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.lnd_rest import MACAROON_HEADER, FaceServer, serve
from lnpilot.simnet.lnd_rest.app import KEYSEND_RECORD
from lnpilot.simnet.model import Channel, Node, Policy
from lnpilot.simnet.network import NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of

MACAROON = "02" + "cd" * 31
START = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Face:
    """A served simulation: bob (ours) reaches frank through carol or through dave."""

    net: SimNetwork
    payer: Payer
    ours: OurNode
    lock: threading.RLock
    nodes: dict[str, str]
    chans: dict[str, Channel]
    server: FaceServer
    http: httpx.Client

    def point(self, name: str) -> dict[str, Any]:
        chan = self.chans[name]
        return {"funding_txid_str": chan.funding_txid, "output_index": chan.output_index}

    def our_edge_policy(self, name: str) -> dict[str, Any]:
        chan = self.chans[name]
        edge = self.http.get(f"/v1/graph/edge/{chan.chan_id}").json()
        side = chan.side_of(self.nodes["bob"])
        policy: dict[str, Any] = edge["node1_policy" if side == 0 else "node2_policy"]
        return policy

    def invoice_of(self, name: str, amt_msat: int, **kwargs: Any) -> tuple[str, str]:
        with self.lock:
            inv = self.net.invoices.create(
                self.net.nodes[self.nodes[name]],
                InvoiceRequest(amt_msat, **kwargs),
                self.net.now_ns,
                hashlib.sha256(
                    f"{name}{len(self.net.invoices.of_node(self.nodes[name]))}".encode()
                ).digest(),
            )
        return inv.payment_request, inv.payment_hash


@pytest.fixture
def face() -> Iterator[Face]:
    net = SimNetwork(seed=11, config=NetworkConfig(start=START))
    nodes = {}
    for key, name in enumerate(("alice", "bob", "carol", "dave", "frank"), start=21):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=5_000_000))
        nodes[name] = pubkey
    chans = {}
    for i, (a, b, fee_ppm) in enumerate(
        [
            ("alice", "bob", 10),
            ("bob", "carol", 10),
            ("carol", "frank", 100),
            ("bob", "dave", 10),
            ("dave", "frank", 900),
        ],
        start=1,
    ):
        chans[f"{a}-{b}"] = net.add_channel(
            nodes[a],
            nodes[b],
            2_000_000,
            1_000_000_000,
            Policy(1000, fee_ppm, max_htlc_msat=1_980_000_000),
            Policy(1000, fee_ppm, max_htlc_msat=1_980_000_000),
            scid=f"810000x{i}x0",
        )
    payer = Payer(net)
    ours = OurNode(net, payer, nodes["bob"])
    lock = threading.RLock()
    with (
        serve(ours, MACAROON, lock=lock) as server,
        httpx.Client(base_url=server.url, headers={MACAROON_HEADER: MACAROON}, timeout=10) as http,
    ):
        yield Face(net, payer, ours, lock, nodes, chans, server, http)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- channel policy ------------------------------------------------------------------------


def test_an_update_without_inbound_fee_keeps_the_inbound_fee(face: Face) -> None:
    full = {
        "chan_point": face.point("bob-carol"),
        "base_fee_msat": "0",
        "fee_rate_ppm": 200,
        "time_lock_delta": 40,
        "inbound_fee": {"base_fee_msat": -200, "fee_rate_ppm": -30},
    }
    assert face.http.post("/v1/chanpolicy", json=full).json() == {"failed_updates": []}
    lnbits_like = {  # what LNbits sends: no inbound_fee, no HTLC limits
        "chan_point": face.point("bob-carol"),
        "base_fee_msat": 1500,
        "fee_rate_ppm": 321,
        "time_lock_delta": 80,
    }
    face.http.post("/v1/chanpolicy", json=lnbits_like).raise_for_status()
    policy = face.our_edge_policy("bob-carol")
    assert (policy["fee_base_msat"], policy["fee_rate_milli_msat"]) == ("1500", "321")
    assert (policy["inbound_fee_base_msat"], policy["inbound_fee_rate_milli_msat"]) == (-200, -30)
    assert policy["time_lock_delta"] == 80


def test_htlc_limits_change_only_when_asked(face: Face) -> None:
    before = face.our_edge_policy("bob-carol")
    base = {"chan_point": face.point("bob-carol"), "fee_rate_ppm": 10, "time_lock_delta": 40}
    face.http.post("/v1/chanpolicy", json={**base, "min_htlc_msat": "5000"}).raise_for_status()
    assert face.our_edge_policy("bob-carol")["min_htlc"] == before["min_htlc"]
    face.http.post(
        "/v1/chanpolicy",
        json={
            **base,
            "min_htlc_msat": "5000",
            "min_htlc_msat_specified": True,
            "max_htlc_msat": "700000000",
        },
    ).raise_for_status()
    after = face.our_edge_policy("bob-carol")
    assert (after["min_htlc"], after["max_htlc_msat"]) == ("5000", "700000000")


def test_fee_rate_as_a_fraction_and_the_lnd_limits(face: Face) -> None:
    ok = {"chan_point": face.point("bob-carol"), "fee_rate": 0.00025, "time_lock_delta": 40}
    face.http.post("/v1/chanpolicy", json=ok).raise_for_status()
    assert face.our_edge_policy("bob-carol")["fee_rate_milli_msat"] == "250"
    too_short = face.http.post("/v1/chanpolicy", json={**ok, "time_lock_delta": 0})
    assert too_short.status_code == 500
    assert "time lock delta of 0 is too small" in too_short.json()["message"]
    both = face.http.post("/v1/chanpolicy", json={**ok, "fee_rate_ppm": 5})
    assert both.status_code == 500


def test_a_global_update_changes_every_open_channel(face: Face) -> None:
    body = {"global": True, "base_fee_msat": "7", "fee_rate_ppm": 77, "time_lock_delta": 50}
    face.http.post("/v1/chanpolicy", json=body).raise_for_status()
    for name in ("alice-bob", "bob-carol", "bob-dave"):
        assert face.our_edge_policy(name)["fee_rate_milli_msat"] == "77"


def test_disable_and_enable_show_in_the_graph(face: Face) -> None:
    for action, disabled in (("DISABLE", True), ("ENABLE", False), ("DISABLE", True)):
        face.http.post(
            "/v2/router/updatechanstatus",
            json={"chan_point": face.point("bob-dave"), "action": action},
        ).raise_for_status()
        assert face.our_edge_policy("bob-dave")["disabled"] is disabled
    face.http.post(
        "/v2/router/updatechanstatus", json={"chan_point": face.point("bob-dave"), "action": "AUTO"}
    ).raise_for_status()
    assert face.our_edge_policy("bob-dave")["disabled"] is False


# --- payments and routes -------------------------------------------------------------------


def _send(face: Face, **body: Any) -> list[dict[str, Any]]:
    body = {"timeout_seconds": 30, "fee_limit_msat": "1000000", **body}
    response = face.http.post("/v2/router/send", json=body)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_lnbits_style_send_is_one_json_object_with_the_preimage(face: Face) -> None:
    request, payment_hash = face.invoice_of("frank", 50_000_000)
    response = face.http.post(
        "/v2/router/send",
        json={
            "payment_request": request,
            "fee_limit_msat": 1_000_000,
            "timeout_seconds": 30,
            "no_inflight_updates": True,
        },
    )
    result = response.json()["result"]  # the whole body parses as one object
    assert result["status"] == "SUCCEEDED"
    assert result["payment_hash"] == payment_hash
    assert hashlib.sha256(bytes.fromhex(result["payment_preimage"])).hexdigest() == payment_hash
    assert int(result["fee_msat"]) > 0  # two hops: carol charges


def test_send_honours_outgoing_channel_and_last_hop(face: Face) -> None:
    via_dave = face.chans["bob-dave"].chan_id
    request, _ = face.invoice_of("frank", 10_000_000)
    (result,) = _send(face, payment_request=request, outgoing_chan_ids=[str(via_dave)])
    hops = result["result"]["htlcs"][-1]["route"]["hops"]
    assert hops[0]["chan_id"] == str(via_dave)
    request, _ = face.invoice_of("frank", 10_000_000)
    (result,) = _send(
        face, payment_request=request, last_hop_pubkey=_b64(bytes.fromhex(face.nodes["dave"]))
    )
    hops = result["result"]["htlcs"][-1]["route"]["hops"]
    assert hops[-2]["pub_key"] == face.nodes["dave"]


def test_a_fee_limit_too_low_fails_the_payment_without_sending(face: Face) -> None:
    request, _ = face.invoice_of("frank", 10_000_000)
    (result,) = _send(face, payment_request=request, fee_limit_msat="1")
    assert result["result"]["status"] == "FAILED"
    assert result["result"]["failure_reason"] == "FAILURE_REASON_NO_ROUTE"


def test_paying_twice_is_refused_with_already_exists(face: Face) -> None:
    request, _ = face.invoice_of("frank", 1_000_000)
    _send(face, payment_request=request)
    again = face.http.post(
        "/v2/router/send",
        json={"payment_request": request, "timeout_seconds": 30, "fee_limit_msat": 1000},
    )
    assert again.json()["error"]["code"] == 6  # LNbits reads this as "maybe paid"


def test_a_held_payment_streams_in_flight_then_its_outcome(face: Face) -> None:
    preimage = b"\x07" * 32
    request, payment_hash = face.invoice_of(
        "frank", 3_000_000, payment_hash=hashlib.sha256(preimage).digest()
    )

    body = {"payment_request": request, "timeout_seconds": 30, "fee_limit_msat": "1000000"}
    statuses = []
    with face.http.stream("POST", "/v2/router/send", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.strip():
                continue
            statuses.append(json.loads(line)["result"]["status"])
            if statuses == ["IN_FLIGHT"]:
                # Settled only once the stream said in flight: the order is the test's
                # subject, so it is made by the signal, not by a thread racing the poll.
                with face.lock:
                    assert payment_hash in face.net.held
                    face.net.settle_held(payment_hash, preimage.hex())
    assert statuses == ["IN_FLIGHT", "SUCCEEDED"]
    track = base64.urlsafe_b64encode(bytes.fromhex(payment_hash)).decode()
    tracked = face.http.get(f"/v2/router/track/{track}").text.splitlines()
    assert [json.loads(t)["result"]["status"] for t in tracked] == ["SUCCEEDED"]


def test_send_to_route_takes_the_route_verbatim(face: Face) -> None:
    built = face.http.post(
        "/v2/router/route",
        json={
            "amt_msat": "2000000",
            "outgoing_chan_id": str(face.chans["bob-carol"].chan_id),
            "hop_pubkeys": [_b64(bytes.fromhex(face.nodes[n])) for n in ("carol", "frank")],
        },
    ).json()["route"]
    assert int(built["total_fees_msat"]) == 1000 + 2000000 * 100 // 1_000_000
    stingy = json.loads(json.dumps(built))
    stingy["hops"][0]["fee_msat"] = "0"
    stingy["total_amt_msat"] = stingy["hops"][0]["amt_to_forward_msat"]
    _, payment_hash = face.invoice_of("frank", 2_000_000)
    body = {"payment_hash": _b64(bytes.fromhex(payment_hash))}
    refused = face.http.post("/v2/router/route/send", json={**body, "route": stingy}).json()
    assert refused["status"] == "FAILED"
    assert refused["failure"]["code"] == "FEE_INSUFFICIENT"
    assert refused["failure"]["failure_source_index"] == 1  # carol, the first hop's node
    paid = face.http.post("/v2/router/route/send", json={**body, "route": built}).json()
    assert paid["status"] == "SUCCEEDED"
    assert hashlib.sha256(base64.b64decode(paid["preimage"])).hexdigest() == payment_hash


def test_send_to_route_settles_only_a_known_hash_or_a_keysend(face: Face) -> None:
    built = face.http.post(
        "/v2/router/route",
        json={"amt_msat": "1000000", "hop_pubkeys": [_b64(bytes.fromhex(face.nodes["carol"]))]},
    ).json()["route"]
    preimage = b"\x42" * 32
    body = {"payment_hash": _b64(hashlib.sha256(preimage).digest()), "route": built}
    unknown = face.http.post("/v2/router/route/send", json=body).json()
    assert unknown["status"] == "FAILED"
    assert unknown["failure"]["code"] == "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS"
    assert unknown["failure"]["failure_source_index"] == 1  # carol, the destination
    built["hops"][-1]["custom_records"] = {KEYSEND_RECORD: _b64(preimage)}
    keysend = face.http.post("/v2/router/route/send", json=body).json()
    assert keysend["status"] == "SUCCEEDED"
    assert base64.b64decode(keysend["preimage"]) == preimage


def test_query_routes_respects_the_outgoing_channel(face: Face) -> None:
    frank, via_dave = face.nodes["frank"], face.chans["bob-dave"].chan_id
    answer = face.http.get(
        f"/v1/graph/routes/{frank}/1000", params={"outgoing_chan_ids": [via_dave]}
    ).json()
    assert answer["routes"][0]["hops"][0]["chan_id"] == str(via_dave)


# --- invoices, forwards, HTLC events -------------------------------------------------------


def test_invoice_stream_leaves_out_accepted_and_canceled(face: Face) -> None:
    held = hashlib.sha256(b"held").digest()
    with face.http.stream("GET", "/v1/invoices/subscribe") as stream:
        lines = stream.iter_lines()
        face.http.post(
            "/v2/invoices/hodl", json={"hash": _b64(held), "value": 10}
        ).raise_for_status()
        assert json.loads(next(lines))["result"]["state"] == "OPEN"
        with face.lock:
            face.payer.pay(face.nodes["alice"], face.nodes["bob"], 10_000, held.hex())
        face.http.post("/v2/invoices/cancel", json={"payment_hash": _b64(held)}).raise_for_status()
        face.http.post("/v1/invoices", json={"value": 3, "memo": "next"}).raise_for_status()
        following = json.loads(next(lines))["result"]
    assert (following["memo"], following["state"]) == ("next", "OPEN")


def test_forwarding_history_windows_pages_and_filters(face: Face) -> None:
    for _ in range(3):
        with face.lock:
            face.payer.pay(face.nodes["alice"], face.nodes["carol"], 1_000_000)
            face.net.now_ns += 60 * 1_000_000_000
    switch = "/v1/switch"
    first = face.http.post(switch, json={"num_max_events": 2}).json()
    assert len(first["forwarding_events"]) == 2 and first["last_offset_index"] == 2
    rest = face.http.post(switch, json={"index_offset": 2, "num_max_events": 2}).json()
    assert len(rest["forwarding_events"]) == 1
    event = first["forwarding_events"][0]
    assert int(event["timestamp"]) == int(START.timestamp())  # Unix time, not simulation time
    assert int(event["amt_in_msat"]) - int(event["amt_out_msat"]) == int(event["fee_msat"]) > 0
    later = int(START.timestamp()) + 61
    assert len(face.http.post(switch, json={"start_time": later}).json()["forwarding_events"]) == 1
    elsewhere = str(face.chans["bob-dave"].chan_id)
    filtered = face.http.post(switch, json={"outgoing_chan_ids": [elsewhere]}).json()
    assert filtered["forwarding_events"] == []


def test_htlc_events_report_a_refused_forward_with_lnds_reasons(face: Face) -> None:
    with face.http.stream("GET", "/v2/router/htlcevents") as stream:
        lines = stream.iter_lines()
        assert "subscribed_event" in json.loads(next(lines))["result"]
        with face.lock:  # bob spends 700k of his 1M sat toward carol; alice's 400k cannot pass
            face.ours.send_payment(dest=face.nodes["carol"], amt_msat=700_000_000)
            face.payer.pay(face.nodes["alice"], face.nodes["carol"], 400_000_000)
        events = []
        while not any("link_fail_event" in e for e in events):
            events.append(json.loads(next(lines))["result"])
    fail = next(e for e in events if "link_fail_event" in e)
    assert fail["event_type"] == "FORWARD"
    assert fail["link_fail_event"]["wire_failure"] == "TEMPORARY_CHANNEL_FAILURE"
    assert fail["link_fail_event"]["failure_detail"] == "INSUFFICIENT_BALANCE"
    assert fail["outgoing_channel_id"] == str(face.chans["bob-carol"].chan_id)


def test_getinfo_speaks_unix_time(face: Face) -> None:
    with face.lock:
        face.net.now_ns = 3600 * 1_000_000_000
    info = face.http.get("/v1/getinfo").json()
    assert int(info["best_header_timestamp"]) == int(START.timestamp()) + 3600


# --- serving -------------------------------------------------------------------------------


def test_stopping_the_server_ends_held_open_streams(face: Face) -> None:
    """The stream is cut by the stop, not left to the client's read timeout: told by how it
    ended, not by how long it took (no machine speed in it)."""
    opened, ended = threading.Event(), threading.Event()
    how: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream(
                "GET",
                face.server.url + "/v1/invoices/subscribe",
                headers={MACAROON_HEADER: MACAROON},
                timeout=30,
            ) as stream:
                opened.set()
                for _ in stream.iter_lines():
                    pass
            how.append("closed")
        except httpx.TimeoutException:
            how.append("timed out")
        except httpx.HTTPError:
            how.append("cut")
        finally:
            opened.set()
            ended.set()

    listener = threading.Thread(target=listen)
    listener.start()
    opened.wait()  # subscribed: the answer's headers came
    face.server.stop()
    ended.wait()
    listener.join()
    assert how in (["closed"], ["cut"])
    with face.lock:  # the simulation goes on without its face
        face.ours.add_invoice(1000, "after the face stopped")
