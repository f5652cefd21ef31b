"""Holds: reserve, capture (all or part), release, and expiry at exactly the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditcore import (
    HoldNotActive,
    InsufficientCredits,
    InvalidAmount,
    InvalidInput,
    NaiveDatetime,
    UnknownHold,
)
from creditcore.ledger import Ledger, ManualClock
from tests.ledger.conftest import T0
from tests.ledger.helpers import everything


def test_reserve_sets_credits_aside(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 30, ttl=timedelta(minutes=5))
    assert hold.expires_at == T0 + timedelta(minutes=5)
    bal = ledger.balance("u")
    assert (bal.current, bal.held, bal.available) == (100, 30, 70)
    with pytest.raises(InsufficientCredits) as err:
        ledger.consume("u", 71)
    assert err.value.context["available"] == 70
    with pytest.raises(InsufficientCredits):
        ledger.reserve("u", 71)
    ledger.consume("u", 70)


def test_partial_capture_releases_the_rest(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 30)
    tx = ledger.capture(hold.id, 12)
    assert tx.kind == "capture"
    assert tx.credits == 12
    assert tx.ref == hold.id
    bal = ledger.balance("u")
    assert (bal.current, bal.held, bal.available, bal.consumed_this_month) == (88, 0, 88, 12)
    stored = ledger.hold(hold.id)
    assert (stored.status, stored.captured) == ("captured", 12)
    with pytest.raises(HoldNotActive):
        ledger.capture(hold.id)
    with pytest.raises(HoldNotActive):
        ledger.release(hold.id)
    ledger.refund(tx.id)  # a capture is a consumption: refundable
    assert ledger.balance("u").current == 100


def test_capture_more_than_held_is_refused(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 30)
    before = everything(ledger)
    with pytest.raises(InvalidAmount):
        ledger.capture(hold.id, 31)
    assert everything(ledger) == before


def test_release_gives_credits_back(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 30)
    ledger.release(hold.id)
    bal = ledger.balance("u")
    assert (bal.held, bal.available, bal.current) == (0, 100, 100)
    assert ledger.hold(hold.id).status == "released"


def test_a_hold_stops_counting_exactly_at_its_limit(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    limit = T0 + timedelta(minutes=10)
    hold = ledger.reserve("u", 40, expires_at=limit)
    clock.set(limit - timedelta(microseconds=1))
    assert ledger.balance("u").held == 40
    clock.set(limit)  # half-open: [created, expires_at)
    assert ledger.balance("u").held == 0
    assert ledger.hold(hold.id).status_at(limit) == "expired"
    before = everything(ledger)
    with pytest.raises(HoldNotActive) as err:
        ledger.capture(hold.id)
    assert err.value.context["status"] == "expired"
    assert everything(ledger) == before
    ledger.consume("u", 100)  # all of it is available again
    assert ledger.hold(hold.id).status == "expired"  # written back lazily
    assert ledger.verify("u").ok


def test_capture_a_microsecond_before_the_limit(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 40, ttl=timedelta(seconds=30))
    clock.set(hold.expires_at - timedelta(microseconds=1))
    assert ledger.capture(hold.id).credits == 40


def test_default_ttl(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    # the documented default, written out here (not read from the code under test)
    assert ledger.reserve("u", 1).expires_at == datetime(2026, 11, 10, 12, 15, tzinfo=UTC)


def test_reserve_argument_errors(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    before = everything(ledger)
    with pytest.raises(InvalidInput):
        ledger.reserve("u", 1, ttl=timedelta(0))
    with pytest.raises(InvalidInput):
        ledger.reserve("u", 1, ttl=timedelta(minutes=1), expires_at=T0 + timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        ledger.reserve("u", 1, expires_at=T0)  # not after now
    with pytest.raises(NaiveDatetime):
        ledger.reserve("u", 1, expires_at=datetime(2026, 11, 10, 13, 0))
    with pytest.raises(UnknownHold):
        ledger.capture("hold_nope")
    with pytest.raises(UnknownHold):
        ledger.release("hold_nope")
    assert everything(ledger) == before


def test_reserve_is_idempotent_on_its_key(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    hold = ledger.reserve("u", 4, key="job-1")
    assert ledger.reserve("u", 4, key="job-1") == hold
    assert ledger.balance("u").held == 4
    ledger.capture(hold.id, 1)
    replayed = ledger.reserve("u", 4, key="job-1")  # still the first result: the same hold
    assert replayed.id == hold.id
    assert replayed.status == "captured"


def test_holds_in_the_past_balance(clock: ManualClock, ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=100)
    hold = ledger.reserve("u", 10, ttl=timedelta(minutes=10))
    clock.advance(timedelta(minutes=1))
    ledger.capture(hold.id, 6)
    assert ledger.balance("u", at=T0 + timedelta(seconds=30)).held == 10
    assert ledger.balance("u", at=T0 + timedelta(minutes=2)).held == 0
    assert ledger.balance("u", at=datetime(2026, 11, 10, 12, 2, tzinfo=UTC)).current == 94


def test_a_ttl_past_the_end_of_the_calendar_is_refused(ledger: Ledger) -> None:
    ledger.open_account("u", monthly_allowance=10)
    before = everything(ledger)
    huge = timedelta(days=999_999_999)
    with pytest.raises(InvalidInput) as caught:
        ledger.reserve("u", 1, ttl=huge)
    assert caught.value.context["field"] == "ttl"
    assert repr(huge) in caught.value.message
    assert everything(ledger) == before
