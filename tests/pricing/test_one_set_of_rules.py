"""One set of limits and forms across modules: the ledger's credit bound, zero-length windows,
every amount accepted in every form the rest of the API accepts, problems in document order."""

from __future__ import annotations

import json
from datetime import time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given

from creditcore import InvalidAmount, InvalidCatalog, InvalidInput, InvalidMoney
from creditcore.ledger import MAX_CREDITS
from creditcore.pricing import (
    Catalog,
    MarginPolicy,
    Money,
    MonthlyWindow,
    Operation,
    Tier,
    WeeklyWindow,
    catalog_from_data,
    loads_catalog,
    reprice,
    smallest_charge,
)
from tests.strategies.pricing import amounts, credit_values, fractions_below_one


def _document(credits: int = 2, monthly: int = 15, window: str | None = None) -> str:
    text = f"""[subscription]
credit_value = "0.02"

[[operations]]
id = "a"
provider = "p"
model = "m"
kind = "image"
api_cost = "0.01"
credits = {credits}

[[tiers]]
name = "FREE"
monthly_credits = {monthly}
models = ["m"]
"""
    if window is not None:
        text += f"""
[[offers]]
id = "o"
name = "O"
credits = 10
price = "1"
timezone = "America/New_York"
window = {window}
"""
    return text


def _codes(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidCatalog) as caught:
        loads_catalog(text)
    return [(problem.path, problem.code) for problem in caught.value.problems]


# --- the ledger's credit bound ------------------------------------------------------------------


def test_the_ledgers_bound_is_2_to_the_53_minus_1() -> None:
    assert MAX_CREDITS == 9_007_199_254_740_991  # the largest integer a JSON number holds exactly


def test_the_catalog_accepts_credits_up_to_the_ledgers_bound_and_no_further() -> None:
    loaded = loads_catalog(_document(credits=MAX_CREDITS, monthly=MAX_CREDITS))
    assert loaded.operations[0].credits == MAX_CREDITS
    assert loaded.tiers[0].monthly_credits == MAX_CREDITS
    huge = 999999999999999999999999999999999999
    assert _codes(_document(credits=huge)) == [("operations[0].credits", "too_large")]
    assert _codes(_document(credits=MAX_CREDITS + 1)) == [("operations[0].credits", "too_large")]
    assert _codes(_document(monthly=2**63 - 1)) == [("tiers[0].monthly_credits", "too_large")]


def test_the_values_refuse_credits_above_the_bound_too() -> None:
    with pytest.raises(InvalidAmount, match="MAX_CREDITS"):
        Operation("a", "p", "m", None, "image", Money("0.01"), MAX_CREDITS + 1)
    with pytest.raises(InvalidAmount, match="MAX_CREDITS"):
        Tier("FREE", MAX_CREDITS + 1)
    catalog = loads_catalog(_document())
    with pytest.raises(InvalidAmount):
        reprice(catalog, credits={"a": MAX_CREDITS + 1})


# --- zero-length offer windows ------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        '{kind = "weekly", start = "fri 18:00", end = "fri 18:00"}',
        '{kind = "monthly", start_day = 15, start = "00:00", end_day = 15, end = "00:00"}',
    ],
)
def test_a_zero_length_window_is_a_catalog_problem(window: str) -> None:
    assert _codes(_document(window=window)) == [("offers[0].window", "empty_window")]


def test_windows_that_close_when_they_open_are_refused_as_values() -> None:
    with pytest.raises(InvalidInput, match="zero-length"):
        WeeklyWindow(4, time(18), 4, time(18))
    with pytest.raises(InvalidInput, match="zero-length"):
        MonthlyWindow(15, time(0), 15, time(0))
    # One minute is a window; a week minus a minute too.
    assert WeeklyWindow(4, time(18), 4, time(18, 1)).length_days == 0
    assert WeeklyWindow(4, time(18, 1), 4, time(18)).length_days == 7


# --- every amount in every form -------------------------------------------------------------


@given(amounts(max_value="2"), credit_values(), fractions_below_one())
def test_smallest_charge_gives_one_answer_for_every_form_of_its_arguments(
    cost: Decimal, value: Decimal, target: Decimal
) -> None:
    exact = smallest_charge(Fraction(cost), Fraction(value), Fraction(target))
    assert smallest_charge(cost, value, target) == exact
    assert smallest_charge(str(cost), str(value), str(target)) == exact
    assert smallest_charge(Money(cost), Money(value), target) == exact

    # The answer itself, by an independent check: c meets the target and c − 1 does not.
    def margin(c: int) -> Fraction:
        return (c * Fraction(value) - Fraction(cost)) / (c * Fraction(value))

    assert margin(exact) >= Fraction(target)
    assert exact == 1 or margin(exact - 1) < Fraction(target)


def test_smallest_charge_of_the_issue_and_its_refusals() -> None:
    # NanoBanana: 0.038 / (0.02 × 0.7) = 2.71… → 3 credits.
    assert smallest_charge(Decimal("0.038"), Decimal("0.02"), Decimal("0.3")) == 3
    assert smallest_charge(Money("0.038"), Money("0.02"), "0.3") == 3
    with pytest.raises(InvalidAmount):
        smallest_charge(0.038, Decimal("0.02"), Decimal("0.3"))  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        smallest_charge(Decimal("-1"), Decimal("0.02"), Decimal("0.3"))
    with pytest.raises(InvalidMoney):
        smallest_charge(Money("0.038"), Money("0.02", "EUR"), Decimal("0.3"))
    with pytest.raises(InvalidInput):
        smallest_charge(Decimal("0.038"), Decimal("0.02"), Decimal("1"))


def test_money_and_ratios_take_decimal_str_fraction_and_money() -> None:
    operation = Operation("a", "p", "m", None, "image", Money(Fraction(1, 4)), 2)
    assert operation.api_cost == Money(Decimal("0.25"))
    for value in (Decimal("0.02"), "0.02", Fraction(1, 50), Money("0.02")):
        catalog = Catalog(operations=[operation], subscription_credit_value=value)
        assert catalog.subscription_credit_value == Decimal("0.02")
    with pytest.raises(InvalidMoney):
        Catalog(operations=[operation], subscription_credit_value=Money("0.02", "EUR"))
    with pytest.raises(InvalidAmount, match="no exact decimal form"):
        Money(Fraction(1, 3))
    assert MarginPolicy(Fraction(1, 20), (Fraction(3, 10), "0.6")).floor == Decimal("0.05")
    catalog = Catalog(operations=[operation], subscription_credit_value="0.02")
    after, _ = reprice(catalog, credit_value=Money("0.025"), api_costs={"a": Fraction(3, 10)})
    assert after.subscription_credit_value == Decimal("0.025")
    assert after.operations[0].api_cost == Money(Decimal("0.3"))


def _data(**money: Any) -> dict[str, Any]:
    operation = {"id": "a", "provider": "p", "model": "m", "kind": "image", "credits": 2}
    operation["api_cost"] = money.get("api_cost", "0.1")
    return {
        "subscription": {"credit_value": money.get("credit_value", "0.02")},
        "policy": {"floor": money.get("floor", "0.05")},
        "operations": [operation],
    }


@pytest.mark.parametrize("form", [Decimal("0.1"), Fraction(1, 10), Money("0.1"), "0.1"], ids=repr)
def test_catalog_from_data_takes_python_numbers_where_money_is_expected(form: object) -> None:
    catalog = catalog_from_data(_data(api_cost=form, credit_value=Decimal("0.02")))
    assert catalog.operations[0].api_cost == Money(Decimal("0.1"))
    assert catalog.subscription_credit_value == Decimal("0.02")
    assert catalog_from_data(_data(floor=Decimal("0.05"))).policy == MarginPolicy("0.05")


def test_catalog_from_data_still_refuses_floats_and_foreign_money() -> None:
    with pytest.raises(InvalidCatalog) as caught:
        catalog_from_data(_data(api_cost=0.1, credit_value=Money("0.02", "EUR")))
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("subscription.credit_value", "currency_mismatch"),
        ("operations[0].api_cost", "money_not_string"),
    ]
    assert "got the float 0.1" in caught.value.problems[1].message
    # A float written in a file is refused by path, with the value as written.
    document = json.dumps(_data()).replace('"0.1"', "0.1")
    with pytest.raises(InvalidCatalog) as caught:
        loads_catalog(document, "json")
    (problem,) = caught.value.problems
    assert (problem.path, problem.code, problem.line) == (
        "operations[0].api_cost",
        "money_not_string",
        1,
    )
    assert problem.message.endswith("got the float 0.1")


# --- problems in document order, with their lines --------------------------------------------


def test_problems_come_in_document_order_with_their_lines() -> None:
    text = 'colour = "red"\n' + _document(credits=0).replace('kind = "image"', 'kind = ""')
    with pytest.raises(InvalidCatalog) as caught:
        loads_catalog(text)
    found = [(p.path, p.code, p.line) for p in caught.value.problems]
    lines = text.splitlines()
    assert found == [
        ("colour", "unknown_key", 1),
        ("operations[0].kind", "empty", lines.index('kind = ""') + 1),
        ("operations[0].credits", "too_small", lines.index("credits = 0") + 1),
    ]


def test_json_problems_have_lines_too() -> None:
    data = _data()
    data["operations"][0]["credits"] = 0
    data = {"colour": 1, **data}
    text = json.dumps(data, indent=2)
    with pytest.raises(InvalidCatalog) as caught:
        loads_catalog(text, "json")
    lines = text.splitlines()
    credits_line = next(i for i, line in enumerate(lines, 1) if '"credits": 0' in line)
    assert [(p.path, p.line) for p in caught.value.problems] == [
        ("colour", 2),
        ("operations[0].credits", credits_line),
    ]


def test_a_problem_of_the_whole_document_has_a_path() -> None:
    for text, format in (("[[operations]\n", "toml"), ("{", "json"), ("[]", "json")):
        with pytest.raises(InvalidCatalog) as caught:
            loads_catalog(text, format)  # type: ignore[arg-type]
        (problem,) = caught.value.problems
        assert problem.path == "(document)"
        assert str(caught.value).startswith("1 problem: (document): ")
