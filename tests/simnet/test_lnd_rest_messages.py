"""The LND REST encoding rules, checked on the message classes themselves.

These are the rules LNbits and lnpilot's own LND adapter depend on; the spec test checks
whole responses, these pin each rule with a value whose encoding is known by hand.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lnpilot.simnet.lnd_rest import messages as m


def test_64_bit_integers_are_strings_and_32_bit_ones_numbers() -> None:
    edge = m.RoutingPolicy(fee_base_msat=1000, time_lock_delta=80, max_htlc_msat=2**63)
    out = edge.to_json()
    assert out["fee_base_msat"] == "1000"
    assert out["max_htlc_msat"] == str(2**63)
    assert out["time_lock_delta"] == 80
    assert out["inbound_fee_base_msat"] == 0


def test_bytes_are_standard_base64_and_requests_may_use_url_safe() -> None:
    raw = bytes([0xFB, 0xFF, 0x00, 0x01])
    assert m.AddInvoiceResponse(r_hash=raw).to_json()["r_hash"] == "+/8AAQ=="
    assert m.Invoice.model_validate({"r_hash": "-_8AAQ"}).r_hash == raw
    assert m.Invoice.model_validate({"r_hash": "+/8AAQ=="}).r_hash == raw


def test_bad_base64_is_refused() -> None:
    with pytest.raises(ValidationError):
        m.Invoice.model_validate({"r_hash": "not base64!"})


def test_enums_travel_by_name() -> None:
    assert m.Invoice(state=m.InvoiceState.SETTLED).to_json()["state"] == "SETTLED"
    assert m.Payment().to_json()["failure_reason"] == "FAILURE_REASON_NONE"


def test_unset_scalars_are_emitted_and_unset_messages_and_oneofs_are_not() -> None:
    out = m.ChannelBalanceResponse().to_json()
    assert out["balance"] == "0"
    assert out["custom_channel_data"] == ""
    assert "local_balance" not in out
    point = m.ChannelPoint(funding_txid_str="ab" * 32, output_index=1).to_json()
    assert point == {"funding_txid_str": "ab" * 32, "output_index": 1}


def test_requests_accept_numbers_or_strings_and_camel_case_names() -> None:
    req = m.SendPaymentRequest.model_validate(
        {"payment_request": "lnbc1", "feeLimitMsat": "2000", "timeout_seconds": 30, "x": 1}
    )
    assert req.fee_limit_msat == 2000
    assert req.timeout_seconds == 30


def test_negative_uint64_is_refused() -> None:
    with pytest.raises(ValidationError):
        m.ForwardingHistoryRequest.model_validate({"start_time": "-1"})


def test_python_keyword_field_uses_the_proto_name_on_the_wire() -> None:
    req = m.PolicyUpdateRequest.model_validate({"global": True, "fee_rate_ppm": 10})
    assert req.global_ is True
    assert req.to_json()["global"] is True


def test_null_means_unset_as_protojson_reads_it() -> None:
    req = m.OpenChannelRequest.model_validate({"local_funding_amount": 5, "sat_per_vbyte": None})
    assert req.sat_per_vbyte == 0
