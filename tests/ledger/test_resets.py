"""Monthly resets: idempotent per (user, period), purchased credits untouched, tier changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from creditcore import InvalidInput
from creditcore.ledger import Ledger, ManualClock, normalize_period, period_end
from tests.ledger.helpers import everything


def test_reset_expires_unused_allowance_and_keeps_purchases(
    clock: ManualClock, ledger: Ledger
) -> None:
    ledger.open_account("u", monthly_allowance=150)
    ledger.purchase("u", 500, payment_id="p")
    ledger.consume("u", 520)  # 500 purchased + 20 subscription
    clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    tx = ledger.reset_month("u", "2026-12")
    assert tx is not None
    assert tx.metadata["expired"] == 130
    bal = ledger.balance("u")
    # docs/domain.md §2: consumed = 0, allowance reissued, purchased untouched
    assert (bal.monthly_allowance, bal.consumed_this_month, bal.purchased) == (150, 0, 0)
    assert bal.current == 150
    expired = {e.account: e.delta for e in tx.entries if not e.account.startswith("lot:")}
    assert expired == {"expired": 130, "issued": -150}


def test_purchased_credits_survive_many_resets(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    ledger.purchase("u", 500, payment_id="p")
    for month in ("2026-12", "2027-01", "2027-02"):
        clock.set(period_end(month) - timedelta(days=27))
        ledger.reset_month("u", month)
    bal = ledger.balance("u")
    assert (bal.purchased, bal.monthly_allowance, bal.current) == (500, 15, 515)


def test_reset_twice_does_nothing_the_second_time(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    assert ledger.reset_month("u", "2026-12") is not None
    journal = ledger.store.transactions("u")
    assert ledger.reset_month("u", "2026-12") is None
    assert ledger.reset_month("u", date(2026, 12, 31)) is None
    assert ledger.reset_month("u", "2026-11") is None  # an earlier period: nothing to do
    assert ledger.store.transactions("u") == journal


def test_the_opening_month_is_already_issued(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15)
    assert ledger.reset_month("u", "2026-11") is None
    assert ledger.balance("u").current == 15


def test_reset_all(ledger: Ledger) -> None:
    for user in ("a", "b", "c"):
        ledger.open_account(user, monthly_allowance=10)
    ledger.consume("b", 4)
    done = ledger.reset_all("2026-12")
    assert sorted(tx.user_id for tx in done) == ["a", "b", "c"]
    assert ledger.reset_all("2026-12") == []
    assert ledger.balance("b").consumed_this_month == 0


def test_tier_change_takes_effect_at_the_next_reset(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=15, tier="FREE")
    ledger.change_tier("u", "PLUS", monthly_allowance=150)
    assert ledger.balance("u").monthly_allowance == 15
    assert ledger.account("u").account.tier == "PLUS"
    ledger.reset_month("u", "2026-12")
    assert ledger.balance("u").monthly_allowance == 150
    ledger.change_tier("u", None, monthly_allowance=0)
    ledger.reset_month("u", "2027-01")
    bal = ledger.balance("u")
    assert (bal.monthly_allowance, bal.current) == (0, 0)
    assert ledger.verify("u").ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11", "2026-11"),
        (date(2026, 2, 28), "2026-02"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2026-12"),
        # 2026-12-31 20:00 in UTC-5 is 2027-01-01 01:00 UTC: periods are UTC months
        (
            datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
            .replace(tzinfo=None)
            .replace(tzinfo=__import__("datetime").timezone(timedelta(hours=-5))),
            "2027-01",
        ),
    ],
)
def test_periods(value: str | date | datetime, expected: str) -> None:
    assert normalize_period(value) == expected


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-11", "", datetime(2026, 1, 1), 202611])
def test_bad_periods(ledger: Ledger, bad: object) -> None:
    ledger.open_account("u", monthly_allowance=15)
    with pytest.raises(InvalidInput):
        ledger.reset_month("u", bad)  # type: ignore[arg-type]
    assert len(ledger.store.transactions("u")) == 1


def test_period_end_rolls_the_year() -> None:
    assert period_end("2026-12") == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_end("2026-02") == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad", ["9999-12", "0000-05", date(9999, 12, 1), datetime(9999, 12, 31, 23, tzinfo=UTC)]
)
def test_periods_whose_end_is_off_the_calendar_are_refused(ledger: Ledger, bad: object) -> None:
    ledger.open_account("u", monthly_allowance=15)
    before = everything(ledger)
    with pytest.raises(InvalidInput) as caught:
        ledger.reset_month("u", bad)  # type: ignore[arg-type]
    assert caught.value.context["field"] == "period"
    assert repr(bad) in caught.value.message
    assert everything(ledger) == before
    assert period_end(normalize_period("9999-11")) == datetime(9999, 12, 1, tzinfo=UTC)
