"""Every path the LND REST face serves answers JSON that LND's own specification accepts.

A tour drives the face through a small network (invoices paid and held, forwards and a
refused forward, payments, routes, channels opened, closed cooperatively and by force) and
records every answer, stream lines included. Each answer is then checked against LND's
swagger files in `../shared/specs/lnd/` by `SwaggerSpec`, and a coverage test makes sure no
served path escaped the tour.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from lnpilot.node.lnd_json import pricing_address
from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.lnd_rest import MACAROON_HEADER, create_app, serve
from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from shared_files import shared_path

SPEC_FILES = ("lightning", "router", "invoices")
MACAROON = "0201036c6e6402f801030a10" + "ab" * 20

# `oneof` scalar members LND leaves out when another member is set.
ONEOF_SCALARS = {"funding_txid_bytes", "funding_txid_str"}

_INT64 = re.compile(r"-?[0-9]+")
_UINT64 = re.compile(r"[0-9]+")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


# --- the checker ---------------------------------------------------------------------------


@dataclass
class Report:
    """What a check found: `errors` break the contract; `missing` are fields not written."""

    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class SwaggerSpec:
    """LND's REST contract, read from its swagger files, as a checker of served JSON.

    Written here rather than handed to a generic JSON-schema engine because grpc-gateway's
    encoding has rules swagger only hints at: int64 is a *string* of digits, bytes are
    standard base64, enums are names, and a message's field names are a closed set (a typo
    in the face must fail, not pass as an "additional property"). It also reports fields
    left out, because LND writes every scalar, list and map field even when empty.
    """

    def __init__(self, spec_dir: Path) -> None:
        self.definitions: dict[str, Any] = {}
        self.operations: dict[tuple[str, str], dict[str, Any]] = {}
        for name in SPEC_FILES:
            spec = json.loads((spec_dir / f"{name}.swagger.json").read_text())
            self.definitions.update(spec["definitions"])
            for template, ops in spec["paths"].items():
                for method, op in ops.items():
                    self.operations[(method.upper(), template)] = op

    def schema(self, method: str, template: str, status: int) -> dict[str, Any]:
        """The schema of an answer: the 200 one (for a stream, of each line) or the error."""
        responses = self.operations[(method, template)]["responses"]
        schema: dict[str, Any] = responses["200" if status == 200 else "default"]["schema"]
        return schema

    def is_stream(self, method: str, template: str) -> bool:
        op = self.operations[(method, template)]
        return "(streaming responses)" in op["responses"]["200"]["description"]

    def check(self, schema: dict[str, Any], value: Any) -> Report:
        report = Report()
        self._check(schema, value, "$", report)
        return report

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.definitions[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _is_message(self, schema: dict[str, Any]) -> bool:
        resolved = self._resolve(schema)
        return "enum" not in resolved and resolved.get("type", "object") == "object"

    def _check(self, schema: dict[str, Any], value: Any, where: str, report: Report) -> None:
        schema = self._resolve(schema)
        if "enum" in schema:
            if value not in schema["enum"]:
                report.errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
            return
        kind = schema.get("type", "object")
        if kind == "object":
            self._check_object(schema, value, where, report)
        elif kind == "array":
            if not isinstance(value, list):
                report.errors.append(f"{where}: expected an array, got {value!r}")
                return
            for i, item in enumerate(value):
                self._check(schema["items"], item, f"{where}[{i}]", report)
        elif kind == "string":
            self._check_string(schema.get("format"), value, where, report)
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                report.errors.append(f"{where}: expected a JSON integer, got {value!r}")
                return
            low, high = _RANGES[schema.get("format", "int64")]
            if not low <= value <= high:
                report.errors.append(f"{where}: {value} is out of {schema.get('format')} range")
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                report.errors.append(f"{where}: expected a JSON number, got {value!r}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                report.errors.append(f"{where}: expected a boolean, got {value!r}")
        else:
            report.errors.append(f"{where}: schema type {kind!r} is not handled")

    def _check_object(self, schema: dict[str, Any], value: Any, where: str, report: Report) -> None:
        if not isinstance(value, dict):
            report.errors.append(f"{where}: expected an object, got {value!r}")
            return
        properties: dict[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict) and extra:
            for key, item in value.items():  # a proto map<string, X>
                self._check(extra, item, f"{where}[{key!r}]", report)
            return
        for key, item in value.items():
            if key not in properties:
                report.errors.append(f"{where}: field {key!r} is not in the specification")
                continue
            self._check(properties[key], item, f"{where}.{key}", report)
        for key, prop in properties.items():
            if key not in value and not self._is_message(prop):
                report.missing.append(f"{where}.{key}")

    @staticmethod
    def _check_string(fmt: str | None, value: Any, where: str, report: Report) -> None:
        if not isinstance(value, str):
            report.errors.append(f"{where}: expected a string ({fmt or 'text'}), got {value!r}")
            return
        if fmt in ("int64", "uint64"):
            pattern = _INT64 if fmt == "int64" else _UINT64
            low, high = _RANGES[fmt]
            if not pattern.fullmatch(value) or not low <= int(value) <= high:
                report.errors.append(f"{where}: {value!r} is not a decimal {fmt} string")
        elif fmt == "byte" and not _BASE64.fullmatch(value):
            report.errors.append(f"{where}: {value!r} is not standard base64")


def _spec_or_skip() -> SwaggerSpec:
    return SwaggerSpec(shared_path("specs", "lnd"))


@pytest.fixture(scope="module")
def spec() -> SwaggerSpec:
    return _spec_or_skip()


def _normalise(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", template)


# --- the network and the tour --------------------------------------------------------------


@dataclass
class Exchange:
    """One answer of the face: request line, LND template, status and JSON object(s)."""

    method: str
    template: str
    url: str
    status: int
    objects: list[Any]


@dataclass
class Sim:
    net: SimNetwork
    payer: Payer
    ours: OurNode
    lock: threading.RLock
    nodes: dict[str, str]

    def pay(self, sender: str, dest: str, amt_msat: int, payment_hash: str | None = None) -> None:
        with self.lock:
            self.payer.pay(self.nodes[sender], dest, amt_msat, payment_hash)

    def invoice_of(self, name: str, amt_msat: int) -> tuple[str, str]:
        """(payment request, payment hash) of a new invoice of a simulated node."""
        with self.lock:
            net = self.net
            inv = net.invoices.create(
                net.nodes[self.nodes[name]],
                InvoiceRequest(amt_msat, memo=f"to {name}"),
                net.now_ns,
                hashlib.sha256(
                    f"{name}:{len(net.invoices.of_node(self.nodes[name]))}".encode()
                ).digest(),
            )
        return inv.payment_request, inv.payment_hash


def build_sim() -> Sim:
    """alice ═ bob (ours) — carol, bob — dave, bob — erin; frank alone; 1M sat channels."""
    net = SimNetwork(seed=7)
    nodes: dict[str, str] = {}
    for key, name in enumerate(("alice", "bob", "carol", "dave", "erin", "frank"), start=1):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=20_000_000))
        nodes[name] = pubkey

    def policy() -> Policy:
        return Policy(base_fee_msat=1000, fee_rate_ppm=100, max_htlc_msat=990_000_000)

    def chan(a: str, b: str, cap_sat: int, a_msat: int, scid: str) -> None:
        net.add_channel(nodes[a], nodes[b], cap_sat, a_msat, policy(), policy(), scid=scid)

    chan("alice", "bob", 1_000_000, 500_000_000, "700000x1x0")
    chan("alice", "bob", 3_000_000, 3_000_000_000, "700000x2x0")
    chan("bob", "carol", 1_000_000, 500_000_000, "700000x3x0")
    chan("bob", "dave", 1_000_000, 500_000_000, "700000x4x0")
    chan("bob", "erin", 1_000_000, 500_000_000, "700000x5x0")
    payer = Payer(net)
    return Sim(net, payer, OurNode(net, payer, nodes["bob"]), threading.RLock(), nodes)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Tour:
    """Calls the face and records each answer under the LND path template it belongs to."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.exchanges: list[Exchange] = []

    def call(
        self, method: str, template: str, url: str, body: Any = None, expect: int = 200
    ) -> Any:
        response = self.client.request(method, url, json=body)
        assert response.status_code == expect, (method, url, response.text)
        data = response.json()
        self.exchanges.append(Exchange(method, template, url, response.status_code, [data]))
        return data

    @contextmanager
    def stream(
        self, method: str, template: str, url: str, body: Any = None
    ) -> Iterator[Callable[[], Any]]:
        """Open a stream; the context value reads its next JSON object (10 s at most)."""
        with self.client.stream(method, url, json=body) as response:
            exchange = Exchange(method, template, url, response.status_code, [])
            self.exchanges.append(exchange)
            lines = response.iter_lines()

            def next_object() -> Any:
                line = next(lines)
                while not line.strip():
                    line = next(lines)
                obj = json.loads(line)
                exchange.objects.append(obj)
                return obj

            yield next_object


def take_tour(sim: Sim, tour: Tour) -> None:
    """Drive every served path at least once, in an order that fills every list it shows."""
    n = sim.nodes
    bob, carol = n["bob"], n["carol"]
    chans = {c.scid: c for c in sim.net.channels.values()}
    bob_carol = chans["700000x3x0"]
    carol_point = {"funding_txid_str": bob_carol.funding_txid, "output_index": 0}

    tour.call("GET", "/v1/getinfo", "/v1/getinfo")
    tour.call("GET", "/v1/balance/channels", "/v1/balance/channels")
    tour.call("GET", "/v1/balance/blockchain", "/v1/balance/blockchain")
    fee = "/v1/transactions/fee"
    output = f"AddrToAmount[{pricing_address('regtest')}]"
    priced = tour.call("GET", fee, f"{fee}?{output}=100000&target_conf=6")
    assert int(priced["sat_per_vbyte"]) >= 1 and int(priced["fee_sat"]) > 0
    tour.call("GET", fee, f"{fee}?AddrToAmount[not-an-address]=100000", None, 400)
    tour.call("GET", fee, f"{fee}?{output}=10000000000000", None, 500)  # above the wallet
    tour.call("GET", "/v1/peers", "/v1/peers")
    tour.call(
        "POST",
        "/v1/peers",
        "/v1/peers",
        {"addr": {"pubkey": n["frank"], "host": "frank.example:9735"}, "perm": True},
    )
    tour.call("DELETE", "/v1/peers/{pub_key}", f"/v1/peers/{n['frank']}")
    tour.call("GET", "/v1/graph/node/{pub_key}", f"/v1/graph/node/{carol}")
    tour.call("GET", "/v1/graph", "/v1/graph")

    # Policies: a full update, a partial one on a channel that does not exist.
    tour.call(
        "POST",
        "/v1/chanpolicy",
        "/v1/chanpolicy",
        {
            "chan_point": carol_point,
            "base_fee_msat": "500",
            "fee_rate_ppm": 250,
            "time_lock_delta": 40,
            "min_htlc_msat": "2000",
            "min_htlc_msat_specified": True,
            "max_htlc_msat": "800000000",
            "inbound_fee": {"base_fee_msat": -100, "fee_rate_ppm": -50},
        },
    )
    tour.call(
        "POST",
        "/v1/chanpolicy",
        "/v1/chanpolicy",
        {
            "chan_point": {"funding_txid_str": "11" * 32, "output_index": 3},
            "fee_rate_ppm": 1,
            "time_lock_delta": 40,
        },
    )
    tour.call("GET", "/v1/graph/edge/{chan_id}", f"/v1/graph/edge/{bob_carol.chan_id}")
    for action in ("DISABLE", "ENABLE"):
        tour.call(
            "POST",
            "/v2/router/updatechanstatus",
            "/v2/router/updatechanstatus",
            {"chan_point": carol_point, "action": action},
        )

    # Invoices: one paid by alice while subscribed, a hold invoice settled, one canceled.
    preimage = hashlib.sha256(b"tour preimage").digest()
    with tour.stream("GET", "/v1/invoices/subscribe", "/v1/invoices/subscribe") as read:
        added = tour.call(
            "POST",
            "/v1/invoices",
            "/v1/invoices",
            {"value": 5000, "memo": "tour", "r_preimage": _b64(preimage), "private": False},
        )
        payment_hash = base64.b64decode(added["r_hash"]).hex()
        assert read()["result"]["state"] == "OPEN"
        sim.pay("alice", bob, 5_000_000, payment_hash)
        assert read()["result"]["state"] == "SETTLED"
    tour.call("GET", "/v1/invoice/{r_hash_str}", f"/v1/invoice/{payment_hash}")
    hold_preimage = hashlib.sha256(b"held").digest()
    hold_hash = hashlib.sha256(hold_preimage).digest()
    tour.call(
        "POST", "/v2/invoices/hodl", "/v2/invoices/hodl", {"hash": _b64(hold_hash), "value": 7}
    )
    sim.pay("alice", bob, 7000, hold_hash.hex())
    tour.call(
        "POST", "/v2/invoices/settle", "/v2/invoices/settle", {"preimage": _b64(hold_preimage)}
    )
    other_hash = hashlib.sha256(b"not paid").digest()
    tour.call(
        "POST", "/v2/invoices/hodl", "/v2/invoices/hodl", {"hash": _b64(other_hash), "value": 9}
    )
    tour.call(
        "POST", "/v2/invoices/cancel", "/v2/invoices/cancel", {"payment_hash": _b64(other_hash)}
    )
    tour.call("GET", "/v1/invoices", "/v1/invoices?num_max_invoices=10&reversed=true")

    # Forwards and a refused forward, seen on the HTLC event stream.
    with tour.stream("GET", "/v2/router/htlcevents", "/v2/router/htlcevents") as read:
        assert "subscribed_event" in read()["result"]
        sim.pay("alice", carol, 300_000_000)
        sim.pay("alice", carol, 300_000_000)
        kinds = set()
        while "link_fail_event" not in kinds:
            kinds |= set(read()["result"]) & {
                "forward_event",
                "settle_event",
                "link_fail_event",
                "forward_fail_event",
            }
        assert {"forward_event", "settle_event"} <= kinds
    tour.call("POST", "/v1/switch", "/v1/switch", {"num_max_events": 10, "peer_alias_lookup": True})
    tour.call("GET", "/v1/fees", "/v1/fees")

    # Payments: LNbits' way, the manager's way (constrained, streamed), and tracking.
    request, _ = sim.invoice_of("dave", 20_000_000)
    with tour.stream(
        "POST",
        "/v2/router/send",
        "/v2/router/send",
        {
            "payment_request": request,
            "fee_limit_msat": 100_000,
            "timeout_seconds": 30,
            "no_inflight_updates": True,
        },
    ) as read:
        assert read()["result"]["status"] == "SUCCEEDED"
    request, dave_hash = sim.invoice_of("dave", 10_000_000)
    dave_chan = chans["700000x4x0"]
    with tour.stream(
        "POST",
        "/v2/router/send",
        "/v2/router/send",
        {
            "payment_request": request,
            "fee_limit_sat": "10",
            "timeout_seconds": 30,
            "outgoing_chan_ids": [str(dave_chan.chan_id)],
            "last_hop_pubkey": _b64(bytes.fromhex(bob)),
        },
    ) as read:
        assert read()["result"]["status"] == "SUCCEEDED"
    track = base64.urlsafe_b64encode(bytes.fromhex(dave_hash)).decode()
    with tour.stream("GET", "/v2/router/track/{payment_hash}", f"/v2/router/track/{track}") as read:
        assert read()["result"]["status"] == "SUCCEEDED"
    tour.call("GET", "/v1/payments", "/v1/payments")
    tour.call(
        "GET",
        "/v1/payments",
        "/v1/payments?index_offset=0&max_payments=10&include_incomplete=true"
        "&reversed=true&count_total_payments=true",
    )

    # Routes: query, build, send to a built route (one good hash, one unknown).
    tour.call(
        "GET",
        "/v1/graph/routes/{pub_key}/{amt}",
        f"/v1/graph/routes/{carol}/1000?fee_limit.fixed=10&final_cltv_delta=40",
    )
    built = tour.call(
        "POST",
        "/v2/router/route",
        "/v2/router/route",
        {"amt_msat": "1000000", "hop_pubkeys": [_b64(bytes.fromhex(carol))]},
    )
    _, carol_hash = sim.invoice_of("carol", 1_000_000)
    sent = tour.call(
        "POST",
        "/v2/router/route/send",
        "/v2/router/route/send",
        {"payment_hash": _b64(bytes.fromhex(carol_hash)), "route": built["route"]},
    )
    assert sent["status"] == "SUCCEEDED"
    too_big = json.loads(json.dumps(built["route"]))  # above the 800k sat max HTLC set above
    too_big["total_amt_msat"] = too_big["hops"][0]["amt_to_forward_msat"] = "900000000"
    refused = tour.call(
        "POST",
        "/v2/router/route/send",
        "/v2/router/route/send",
        {"payment_hash": _b64(hashlib.sha256(b"too big").digest()), "route": too_big},
    )
    assert refused["failure"]["code"] == "TEMPORARY_CHANNEL_FAILURE"
    backup = tour.call("GET", "/v1/channels/backup", "/v1/channels/backup")
    verify = "/v1/channels/backup/verify"
    verified = tour.call("POST", verify, verify, {"multi_chan_backup": backup["multi_chan_backup"]})
    assert len(verified["chan_points"]) == len(backup["multi_chan_backup"]["chan_points"])
    corrupt = base64.b64decode(backup["multi_chan_backup"]["multi_chan_backup"])[:-1]
    tour.call(
        "POST", verify, verify, {"multi_chan_backup": {"multi_chan_backup": _b64(corrupt)}}, 500
    )

    # Channels: list, open (pending), close (waiting, then closed), force close (maturing).
    tour.call("GET", "/v1/channels", "/v1/channels")
    peer = base64.urlsafe_b64encode(bytes.fromhex(carol)).decode()
    tour.call("GET", "/v1/channels", f"/v1/channels?peer={peer}")
    named = tour.call("GET", "/v1/channels", "/v1/channels?peer_alias_lookup=true")
    assert all(c["peer_alias"] for c in named["channels"])  # each peer's alias from the graph
    subscribe = "/v1/channels/backup/subscribe"
    with tour.stream("GET", subscribe, subscribe) as read_backup:
        tour.call(
            "POST",
            "/v1/channels",
            "/v1/channels",
            {
                "node_pubkey": _b64(bytes.fromhex(carol)),
                "local_funding_amount": "500000",
                "push_sat": "1000",
                "sat_per_vbyte": "5",
            },
        )
        after_open = read_backup()["result"]["multi_chan_backup"]["chan_points"]
    assert len(after_open) == len(backup["multi_chan_backup"]["chan_points"]) + 1
    erin_chan = chans["700000x5x0"]
    with sim.lock:
        sim.ours.close_channel(erin_chan.channel_point, force=True)
    close_url = f"/v1/channels/{dave_chan.funding_txid}/{dave_chan.output_index}?force=false"
    close_template = "/v1/channels/{channel_point.funding_txid_str}/{channel_point.output_index}"
    with tour.stream("DELETE", close_template, close_url) as read:
        assert "close_pending" in read()["result"]
        tour.call("GET", "/v1/channels/pending", "/v1/channels/pending")
        with sim.lock:
            sim.net.mine_block()
        assert read()["result"]["chan_close"]["success"] is True
    tour.call("GET", "/v1/channels/pending", "/v1/channels/pending")
    tour.call("GET", "/v1/channels/closed", "/v1/channels/closed")
    tour.call("GET", "/v1/channels/closed", "/v1/channels/closed?cooperative=true")


@pytest.fixture(scope="module")
def tour(spec: SwaggerSpec) -> Tour:
    sim = build_sim()
    server = serve(sim.ours, MACAROON, lock=sim.lock)
    try:
        with httpx.Client(
            base_url=server.url, headers={MACAROON_HEADER: MACAROON}, timeout=10
        ) as client:
            visit = Tour(client)
            take_tour(sim, visit)
            return visit
    finally:
        server.stop()


# --- the checks ----------------------------------------------------------------------------


def _served_routes() -> set[tuple[str, str]]:
    app = create_app(build_sim().ours, MACAROON)
    return {
        (method, _normalise(route.path))
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


SERVED = sorted(_served_routes())


def test_the_tour_visits_every_served_path(tour: Tour) -> None:
    visited = {(e.method, _normalise(e.template)) for e in tour.exchanges}
    assert set(SERVED) - visited == set()


def test_every_served_path_exists_in_lnds_specification(spec: SwaggerSpec) -> None:
    known = {(method, _normalise(template)) for method, template in spec.operations}
    assert set(SERVED) - known == set()


@pytest.mark.parametrize(("method", "path"), SERVED, ids=[f"{m} {p}" for m, p in SERVED])
def test_answers_match_lnds_specification(
    spec: SwaggerSpec, tour: Tour, method: str, path: str
) -> None:
    exchanges = [e for e in tour.exchanges if (e.method, _normalise(e.template)) == (method, path)]
    assert exchanges, f"{method} {path} was not visited"
    for exchange in exchanges:
        streaming = spec.is_stream(exchange.method, exchange.template)
        assert exchange.objects, f"{exchange.url} answered nothing"
        if streaming:
            assert len(exchange.objects) >= 1
        schema = spec.schema(exchange.method, exchange.template, exchange.status)
        for obj in exchange.objects:
            report = spec.check(schema, obj)
            assert report.errors == [], f"{exchange.method} {exchange.url}: {report.errors}"
            unexpected = [p for p in report.missing if p.rsplit(".", 1)[-1] not in ONEOF_SCALARS]
            assert unexpected == [], f"{exchange.method} {exchange.url} left out {unexpected}"


def test_the_checker_refuses_what_lnd_would_not_write(spec: SwaggerSpec) -> None:
    schema = {"$ref": "#/definitions/lnrpcChannelBalanceResponse"}
    amount = {"sat": "1", "msat": "1000"}
    good = {
        "balance": "1",
        "pending_open_balance": "0",
        "local_balance": amount,
        "custom_channel_data": "AAE=",
    }
    assert spec.check(schema, good).errors == []
    for field_name, value in (
        ("balance", 1),  # int64 as a JSON number
        ("balance", "1.5"),
        ("custom_channel_data", "0a1"),  # not base64 (hex of odd length)
        ("local_balance", {"sat": "1", "msats": "1000"}),  # a field LND does not have
        ("pending_open_balance", None),
    ):
        report = spec.check(schema, {**good, field_name: value})
        assert report.errors, f"{field_name}={value!r} passed"
    missing = spec.check(schema, {k: v for k, v in good.items() if k != "balance"}).missing
    assert missing == ["$.balance"]
    invoice = {"$ref": "#/definitions/lnrpcInvoice"}
    assert spec.check(invoice, {"state": "PAID"}).errors
    assert spec.check(invoice, {"state": "SETTLED", "settled": "true"}).errors


@pytest.fixture(scope="module")
def face_url(spec: SwaggerSpec) -> Iterator[str]:
    sim = build_sim()
    with serve(sim.ours, MACAROON, lock=sim.lock) as server:
        yield server.url


def _status_errors(spec: SwaggerSpec, body: Any) -> list[str]:
    return spec.check({"$ref": "#/definitions/rpcStatus"}, body).errors


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, 16), ({MACAROON_HEADER: "ab" * 32}, 403, 7), ({MACAROON_HEADER: ""}, 401, 16)],
    ids=["missing", "wrong", "empty"],
)
def test_the_macaroon_is_checked_on_every_path(
    spec: SwaggerSpec, face_url: str, headers: dict[str, str], status: int, code: int
) -> None:
    for method, path in SERVED:
        url = face_url + path.replace("{}", "00")
        response = httpx.request(method, url, headers=headers, timeout=10)
        assert response.status_code == status, (method, path, response.text)
        body = response.json()
        assert _status_errors(spec, body.get("error", body)) == []
        assert body.get("error", body)["code"] == code
        assert "ab" * 32 not in response.text  # the secret is never echoed


def test_errors_have_lnds_shape_unary_and_streaming(spec: SwaggerSpec, face_url: str) -> None:
    client = httpx.Client(base_url=face_url, headers={MACAROON_HEADER: MACAROON}, timeout=10)
    unknown = client.get(f"/v1/invoice/{'00' * 32}")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 5
    assert _status_errors(spec, unknown.json()) == []

    bad = client.post("/v1/invoices", content=b"{not json")
    assert (bad.status_code, bad.json()["code"]) == (400, 3)

    no_route = client.get("/v1/no/such/path")
    assert (no_route.status_code, no_route.json()["code"]) == (404, 5)

    # A stream that fails before its first object: the HTTP status says so and the body is
    # the stream's error wrapper, which LNbits reads as `error`.
    track = client.get("/v2/router/track/" + base64.urlsafe_b64encode(b"\x01" * 32).decode())
    assert track.status_code == 404
    schema = spec.schema("GET", "/v2/router/track/{payment_hash}", 200)
    assert spec.check(schema, track.json()).errors == []
    assert track.json()["error"]["message"] == "payment isn't initiated"
