"""One JSON form for every public value: the rules, the schemas, and pydantic/FastAPI agreeing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

import creditcore.geo as geo
import creditcore.ledger as ledger_module
import creditcore.payments as payments
import creditcore.pricing as pricing
from creditcore import InvalidInput, NaiveDatetime, jsonable_schema, jsonable_type, to_jsonable
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from tests.payments.harness import Endpoint
from tests.payments.stripe_payloads import checkout_completed

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def wire(value: object) -> Any:
    """What a client receives: the JSON text parsed back."""
    return json.loads(json.dumps(to_jsonable(value)))


def samples() -> dict[type, list[object]]:
    """Real values of every public class, made by the library's own calls."""
    clock = ManualClock(NOW)
    ledger = Ledger(InMemoryStore(), clock=clock)
    catalog = pricing.example_catalog()
    ledger.open_account("u1", monthly_allowance=15, tier="FREE")
    purchase = ledger.purchase(
        "u1", 500, payment_id="pi_1", amount=pricing.Money(Decimal("299.99"))
    )
    spent = ledger.charge("u1", "seedream-v4", catalog=catalog, key="k1")
    ledger.refund(spent.id, 1)
    hold = ledger.reserve("u1", 5, ttl=timedelta(minutes=5))
    view = ledger.account("u1")
    page = ledger.history("u1", limit=2)
    report = pricing.validate(catalog)
    _repriced, diff = pricing.reprice(catalog, credit_value=Decimal("0.01"))
    index = geo.GigIndex([("g1", 2.35, 48.85, {"title": "Paris"}), (7, -0.12, 51.5, {})])
    hits = index.near(2.3, 48.8, 100_000)
    endpoint = Endpoint()
    result = endpoint.deliver(checkout_completed("evt_1", created=int(NOW.timestamp())))
    assert result.outcome is not None
    return {
        ledger_module.Balance: [ledger.balance("u1")],
        ledger_module.Transaction: [purchase, spent],
        ledger_module.Entry: list(spent.entries),
        ledger_module.Hold: [hold],
        ledger_module.Lot: list(view.lots),
        ledger_module.Account: [view.account],
        ledger_module.AccountView: [view],
        ledger_module.HistoryPage: [page],
        ledger_module.VerifyReport: [ledger.verify("u1")],
        pricing.PricePoint: list(report.points),
        pricing.ValidationReport: [report],
        pricing.Problem: [*report.errors, *report.warnings]
        or [pricing.Problem("c", "operations[0]", "m")],
        pricing.Suggestion: list(report.suggestions),
        pricing.RatioChange: list(diff.changes),
        pricing.RepriceDiff: [diff],
        pricing.Money: [pricing.Money(Decimal("0.038"))],
        pricing.Operation: list(catalog.operations),
        pricing.Channel: list(catalog.channels),
        pricing.Tier: list(catalog.tiers),
        pricing.CreditPack: list(catalog.packs),
        pricing.LootboxOffer: list(catalog.offers),
        pricing.MarginPolicy: [report.policy],
        pricing.Catalog: [catalog],
        geo.Gig: list(index.in_bbox(-180, -90, 180, 90)),
        geo.Hit: list(hits),
        payments.PaymentOutcome: [result.outcome],
        payments.WebhookResult: [result],
    }


SAMPLES = samples()


def validator(cls: type) -> jsonschema.protocols.Validator:
    schema = jsonable_schema(cls)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def each_sample() -> Iterator[tuple[type, object]]:
    for cls, values in SAMPLES.items():
        assert values, f"no sample of {cls.__name__}"
        for value in values:
            yield cls, value


@pytest.mark.parametrize(("cls", "value"), list(each_sample()), ids=lambda v: type(v).__name__)
def test_every_public_value_has_a_json_form_its_schema_accepts(cls: type, value: object) -> None:
    document = wire(value)
    validator(cls).validate(document)
    # every field is there under its own name; no field is dropped
    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
    else:  # a slotted class that declares its attributes
        names = {name for name in cls.__annotations__ if not name.startswith("_")}
    assert names <= set(document)


def test_schemas_refuse_what_the_form_never_is() -> None:
    balance = wire(SAMPLES[ledger_module.Balance][0])
    check = validator(ledger_module.Balance)
    for broken in (
        {**balance, "current": "513"},  # a number as text
        {**balance, "at": "yesterday"},  # not an instant
        {k: v for k, v in balance.items() if k != "available"},  # a member missing
        {**balance, "extra": 1},  # a member nobody documented
    ):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(broken)
    point = wire(SAMPLES[pricing.PricePoint][0])
    with pytest.raises(jsonschema.ValidationError):
        validator(pricing.PricePoint).validate({**point, "markup": 0.48})  # a float ratio


def test_the_seed_figures_travel_as_decimal_strings_with_both_ratios_by_name() -> None:
    catalog = pricing.example_catalog()
    point = wire(catalog.price("seedream-v4", "subscription"))
    # DOMAIN.md §2: Seedream $0.04 charged vs $0.027 cost: 32.5% gross margin, 48% markup
    assert point["cost"] == {"amount": "0.027", "currency": "USD"}
    assert point["revenue"] == {"amount": "0.04", "currency": "USD"}
    assert point["gross_margin"] == "0.325"
    assert point["markup"].startswith("0.4814814814")
    assert point["exact_markup"] == "13/27"  # (0.04 - 0.027) / 0.027
    assert point["credits"] == 2
    video = wire(catalog.price("seedance-pro-720p", "subscription"))
    assert (video["gross_margin"], video["markup"]) == ("0.375", "0.6")


def test_a_balance_is_the_documented_object_member_for_member() -> None:
    ledger = Ledger(InMemoryStore(), clock=ManualClock(NOW))
    ledger.open_account("u", monthly_allowance=150)
    ledger.purchase("u", 500, payment_id="p")
    ledger.consume("u", 160)  # 160 purchased first (PurchasedFirst)
    ledger.reserve("u", 40)
    assert wire(ledger.balance("u")) == {
        "user_id": "u",
        "current": 490,
        "purchased": 340,
        "monthly_allowance": 150,
        "consumed_this_month": 0,
        "held": 40,
        "available": 450,
        "debt": 0,
        "at": "2026-11-23T15:00:00+00:00",
        "subscription": 150,
        "current_balance": 490,
        "purchased_balance": 340,
    }


def test_instants_keep_their_offset_and_naive_ones_are_refused() -> None:
    paris = timezone(timedelta(hours=1))
    assert to_jsonable(datetime(2026, 1, 2, 3, 4, 5, tzinfo=paris)) == "2026-01-02T03:04:05+01:00"
    assert to_jsonable(date(2026, 1, 2)) == "2026-01-02"
    with pytest.raises(NaiveDatetime):
        to_jsonable({"at": datetime(2026, 1, 2)})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN"), object(), {(1,): 2}])
def test_values_without_a_json_form_are_refused_as_invalid_input(bad: object) -> None:
    with pytest.raises(InvalidInput):
        to_jsonable(bad)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_decimal_round_trips_through_its_string(value: Decimal) -> None:
    text = to_jsonable(value)
    assert isinstance(text, str)
    assert jsonschema.Draft202012Validator({"pattern": r"^-?[0-9]+(\.[0-9]+)?$"}).is_valid(text)
    assert Decimal(text) == value


@given(st.fractions())
def test_a_fraction_round_trips_through_its_string(value: Fraction) -> None:
    text = to_jsonable(value)
    assert isinstance(text, str)
    assert Fraction(text) == value


@settings(max_examples=40)
@given(st.datetimes(timezones=st.timezones()))
def test_an_aware_instant_round_trips_with_its_offset(value: datetime) -> None:
    text = to_jsonable(value)
    assert isinstance(text, str)
    back = datetime.fromisoformat(text)
    assert back.utcoffset() == value.utcoffset()
    assert back.astimezone(UTC) == value.astimezone(UTC)  # the same instant (folds included)


# --- pydantic / FastAPI --------------------------------------------------------------------------


def returning(value: object) -> Callable[[], object]:
    def endpoint() -> object:
        return value

    return endpoint


def test_pydantic_and_fastapi_response_models_give_the_same_json() -> None:
    app = FastAPI()
    routes: dict[str, tuple[type, object]] = {}
    for number, (cls, value) in enumerate(each_sample()):
        path = f"/v{number}"
        routes[path] = (cls, value)

        app.add_api_route(
            path, returning(value), methods=["GET"], response_model=jsonable_type(cls)
        )
    client = TestClient(app)
    for path, (cls, value) in routes.items():
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json() == wire(value), cls.__name__
        adapter = TypeAdapter(jsonable_type(cls))
        assert json.loads(adapter.dump_json(value)) == wire(value)
    spec = client.get("/openapi.json").json()
    text = json.dumps(spec)
    assert '"gross_margin"' in text  # the computed members are documented too
    assert '"current_balance"' in text


def test_plain_fastapi_drops_the_computed_ratios_which_is_why_the_type_exists() -> None:
    app = FastAPI()
    point = pricing.example_catalog().price("seedream-v4", "subscription")

    @app.get("/plain", response_model=pricing.PricePoint)
    def plain() -> pricing.PricePoint:
        return point

    body = TestClient(app).get("/plain").json()
    assert "gross_margin" not in body
    assert wire(point)["gross_margin"] == "0.325"


def test_the_response_type_refuses_a_value_of_another_class() -> None:
    adapter = TypeAdapter(jsonable_type(ledger_module.Balance))
    with pytest.raises(ValueError, match="expected a Balance"):
        adapter.validate_python(SAMPLES[ledger_module.Hold][0])
