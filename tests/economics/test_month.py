"""A month computed by hand: every figure of the report must match to the cent (and beyond).

The expected values below are worked out in the comments from the catalog's prices and the
ledger's rules (DOMAIN.md §3 and §5), not taken from the code under test.

Catalog: the example catalog with PLUS priced at $4.50 a month (150 credits: $0.03 each);
FREE is $0 (its credits are worth 0); Studio Pack 500 for $299.99 ($0.59998 each); Weekend
Flash Sale 200 for $9.99 ($0.04995 each). Costs per call: seedream 0.027, nanobanana 0.038,
seedance 0.15, wan 0.25.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from creditcore.economics import EconomicsReport, economics
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.pricing import Catalog, Money, Tier, example_catalog

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)


def usd(text: str) -> Money:
    return Money(Decimal(text))


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def priced_catalog() -> Catalog:
    base = example_catalog()
    tiers = [
        Tier(t.name, t.monthly_credits, usd("4.50") if t.name == "PLUS" else t.price, t.models)
        for t in base.tiers
    ]
    return base.replace(tiers=tiers)


CATALOG = priced_catalog()


def the_month() -> Ledger:
    clock = ManualClock(at(28, month=10))
    ledger = Ledger(InMemoryStore(), clock=clock)
    # October (before the range): ada on PLUS spends 10 of her 150 credits
    ledger.open_account("ada", monthly_allowance=150, tier="PLUS")
    clock.set(at(29, month=10))
    for _ in range(5):
        ledger.charge("ada", "seedream-v4", catalog=CATALOG)  # 5 × 2 credits
    # 1 November 00:00: the reset expires ada's 140 unused credits, issues 150 more
    clock.set(NOV)
    ledger.reset_all("2026-11")
    clock.set(at(1))
    ledger.open_account("bob", monthly_allowance=15, tier="FREE")
    ledger.open_account("erin", monthly_allowance=150, tier="PLUS")
    ledger.open_account("carol", monthly_allowance=0)
    ledger.open_account("dave", monthly_allowance=0)
    # ada buys the Studio Pack, then spends from it (purchased credits first)
    clock.set(at(2))
    ledger.purchase(
        "ada", 500, payment_id="pi_ada", amount=usd("299.99"), pack="studio-pack", catalog=CATALOG
    )
    clock.set(at(3))
    ledger.charge("ada", "wan-2.5", catalog=CATALOG)  # 20 from the pack
    for _ in range(10):
        clock.advance(timedelta(minutes=1))
        ledger.charge("ada", "nanobanana", catalog=CATALOG)  # 10 × 2 from the pack
    clock.set(at(4))
    failed = ledger.charge("ada", "seedance-pro-720p", catalog=CATALOG)  # 12 from the pack
    clock.advance(timedelta(seconds=5))
    ledger.refund(failed.id)  # no subscription consumed this month: a new lot of 12
    # bob (FREE) spends free credits: cost with no revenue
    clock.set(at(5))
    for _ in range(3):
        ledger.charge("bob", "seedream-v4", catalog=CATALOG)
    # erin (PLUS) spends 4 subscription credits; 1 credit of her second call is refunded
    ledger.charge("erin", "seedream-v4", catalog=CATALOG)
    second = ledger.charge("erin", "seedream-v4", catalog=CATALOG)
    ledger.refund(second.id, 1)
    # carol buys the weekend lootbox (Saturday 7th, 10:00 in New York), spends 60, disputes it
    clock.set(at(7, 15))
    ledger.purchase(
        "carol", 200, payment_id="pi_carol", amount=usd("9.99"), kind="lootbox",
        offer="weekend-flash-sale", catalog=CATALOG,
    )  # fmt: skip
    clock.set(at(8))
    for _ in range(5):
        ledger.charge("carol", "seedance-pro-720p", catalog=CATALOG)  # 5 × 12
    clock.set(at(10))
    ledger.revoke_purchase("pi_carol", reason="dispute")  # 140 unspent back, 60 become debt
    # dave buys the pack with a $60 promotion code, spends 40, gets his money back
    clock.set(at(12))
    ledger.purchase(
        "dave", 500, payment_id="pi_dave", amount=usd("239.99"), discount=usd("60.00"),
        pack="studio-pack", catalog=CATALOG,
    )  # fmt: skip
    clock.set(at(13))
    ledger.charge("dave", "wan-2.5", catalog=CATALOG)
    ledger.charge("dave", "wan-2.5", catalog=CATALOG)
    clock.set(at(20))
    ledger.revoke_purchase("pi_dave", reason="refund")  # 460 unspent back, 40 become debt
    # 1 December 00:00: the next reset is outside the half-open range [Nov 1, Dec 1)
    clock.set(DEC)
    ledger.reset_all("2026-12")
    return ledger


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return the_month()


def report(ledger: Ledger, *by: str) -> EconomicsReport:
    return economics(ledger, CATALOG, start=NOV, end=DEC, by=by)


def test_the_totals_match_the_hand_computed_month(ledger: Ledger) -> None:
    total = report(ledger).total
    # cash: ada 299.99 + carol 9.99 + dave 239.99 (after his $60 discount)
    assert total.cash_collected == usd("549.97")
    # returned: carol's dispute 9.99 + dave's refund 239.99
    assert total.cash_returned == usd("249.98")
    # issued: ada's November allowance 150 × 0.03 = 4.50, erin's 4.50, bob's 15 × 0 = 0,
    # and the three purchases 299.99 + 9.99 + 239.99
    assert total.value_issued == usd("558.97")
    # recognised: ada 20 × 0.59998 (wan) + 20 × 0.59998 (nanobanana) = 23.9992, her seedance
    # 12 × 0.59998 reversed by its refund; erin 4 × 0.03 − 1 × 0.03 = 0.09; bob 0;
    # carol 60 × 0.04995 = 2.997; dave 40 × (239.99 / 500 = 0.47998) = 19.1992
    assert total.recognised == usd("46.2854")
    # breakage: ada's 140 October credits expired on 1 November, 140 × 0.03
    assert total.breakage == usd("4.20")
    # cost: ada 0.25 + 10 × 0.038 (+0.15 − 0.15); bob 3 × 0.027 = 0.081;
    # erin 2 × 0.027 − 0.027 / 2 = 0.0405; carol 5 × 0.15 = 0.75; dave 2 × 0.25 = 0.50
    assert total.provider_cost == usd("2.0015")
    # revoked (unspent credits taken back): carol 140 × 0.04995 = 6.993, dave 460 × 0.47998
    assert total.revoked == usd("227.7838")
    # already consumed when their payment went back: carol 2.997, dave 19.1992
    assert total.written_off == usd("22.1962")
    assert total.debt_recovered == usd("0")
    # deferred at the start: ada's 140 October credits × 0.03
    assert total.deferred_opening == usd("4.20")
    # deferred at the end: ada 150 × 0.03 + (500 − 52) × 0.59998 + 12 × 0.59998 (refund lot),
    # erin 147 × 0.03; bob's 9 free credits are worth 0; carol and dave hold nothing
    assert total.deferred_closing == usd("284.9008")
    assert total.calls == 12 + 3 + 2 + 5 + 2
    assert total.credits_consumed == 52 + 6 + 4 + 60 + 40
    assert total.credits_refunded == 12 + 1
    assert total.gross_margin_exact == Fraction("44.2839") / Fraction("46.2854")
    assert total.markup_exact == Fraction("44.2839") / Fraction("2.0015")
    assert total.gross_profit == usd("44.2839")
    assert total.complete


def test_the_roll_forward_reconciles_to_the_cent(ledger: Ledger) -> None:
    roll = report(ledger).roll_forward
    # 4.20 + 558.97 − 46.2854 − 4.20 − 227.7838 = 284.9008
    assert roll.opening + roll.issued - roll.recognised - roll.breakage - roll.revoked == Fraction(
        "284.9008"
    )
    assert roll.closing == Fraction("284.9008")
    assert roll.reconciles


def test_by_operation(ledger: Ledger) -> None:
    rows = report(ledger, "operation")
    wan = rows.row(operation="wan-2.5").figures
    # ada 20 × 0.59998 + dave 40 × 0.47998; cost 3 × 0.25
    assert (wan.recognised, wan.provider_cost, wan.calls) == (usd("31.1988"), usd("0.75"), 3)
    nano = rows.row(operation="nanobanana").figures
    assert (nano.recognised, nano.provider_cost, nano.calls) == (usd("11.9996"), usd("0.38"), 10)
    seedance = rows.row(operation="seedance-pro-720p").figures
    # ada's call refunded in full (revenue and cost reversed); carol 60 × 0.04995, 5 × 0.15
    assert (seedance.recognised, seedance.provider_cost) == (usd("2.997"), usd("0.75"))
    assert seedance.credits_refunded == 12
    seedream = rows.row(operation="seedream-v4").figures
    # bob 0 + erin 0.09; cost 0.081 + 0.0405: sold below cost
    assert (seedream.recognised, seedream.provider_cost) == (usd("0.09"), usd("0.1215"))
    assert seedream.gross_margin_exact == Fraction("-0.0315") / Fraction("0.09")
    assert seedream.markup_exact == Fraction("-0.0315") / Fraction("0.1215")
    # the purchases, resets and revocations belong to no operation
    other = rows.row(operation=None).figures
    assert other.cash_collected == usd("549.97")
    assert other.breakage == usd("4.20")


def test_by_channel_each_channel_rolls_forward(ledger: Ledger) -> None:
    rows = report(ledger, "channel")
    pack = rows.row(channel="pack").figures
    # ada 23.9992 + dave 19.1992; cost ada 0.63 + dave 0.50
    assert (pack.recognised, pack.provider_cost) == (usd("43.1984"), usd("1.13"))
    assert (pack.cash_collected, pack.cash_returned) == (usd("539.98"), usd("239.99"))
    # ada's pack 448 × 0.59998 + her refund lot 12 × 0.59998
    assert pack.deferred_closing == usd("275.9908")
    offer = rows.row(channel="offer").figures
    assert (offer.recognised, offer.provider_cost, offer.revoked) == (
        usd("2.997"),
        usd("0.75"),
        usd("6.993"),
    )
    subscription = rows.row(channel="subscription").figures
    assert (subscription.recognised, subscription.breakage) == (usd("0.09"), usd("4.20"))
    assert (subscription.deferred_opening, subscription.deferred_closing) == (
        usd("4.20"),
        usd("8.91"),
    )
    free = rows.row(channel="free").figures
    assert (free.recognised, free.provider_cost, free.gross_margin) == (
        usd("0"),
        usd("0.081"),
        None,
    )
    assert free.markup == Decimal(-1)  # all cost, no revenue: −100 %
    for row in rows.rows:
        f = row.figures
        assert f.deferred_opening is not None
        assert f.deferred_closing is not None
        assert (
            f.deferred_opening + f.value_issued - f.recognised - f.breakage - f.revoked
            == f.deferred_closing
        )


def test_by_user_and_tier(ledger: Ledger) -> None:
    ada = report(ledger, "user").row(user="ada").figures
    assert (ada.recognised, ada.provider_cost, ada.breakage) == (
        usd("23.9992"),
        usd("0.63"),
        usd("4.20"),
    )
    assert (ada.deferred_opening, ada.deferred_closing) == (usd("4.20"), usd("280.4908"))
    plus = report(ledger, "tier").row(tier="PLUS").figures
    assert plus.recognised == usd("24.0892")  # ada 23.9992 + erin 0.09


def test_by_day(ledger: Ledger) -> None:
    days = report(ledger, "day")
    assert days.row(day="2026-11-01").figures.breakage == usd("4.20")
    assert days.row(day="2026-11-03").figures.recognised == usd("23.9992")
    assert days.row(day="2026-11-04").figures.recognised == usd("0")  # charged and refunded
    assert [r.key["day"] for r in days.rows] == sorted(r.key["day"] or "" for r in days.rows)
    months = report(ledger, "month")
    assert [r.key["month"] for r in months.rows] == ["2026-11"]


def test_the_december_reset_is_outside_the_half_open_range(ledger: Ledger) -> None:
    december = economics(ledger, CATALOG, start=DEC, end=DEC + timedelta(days=1))
    # ada's 150 + erin's 147 November credits expire at the December reset
    assert december.total.breakage == usd("8.91")
    assert december.roll_forward.opening == Fraction("284.9008")


def test_the_records_and_the_dataframe_carry_exact_and_float_columns(ledger: Ledger) -> None:
    rep = report(ledger, "operation")
    records = rep.to_records(total=True)
    last = records[-1]
    assert last["operation"] == "TOTAL"
    assert last["recognised_exact"] == Decimal("46.2854")
    assert last["recognised"] == pytest.approx(46.2854)
    frame = rep.to_dataframe()
    assert frame["recognised"].dtype.kind == "f"
    assert frame["gross_margin"].dtype.kind == "f"
    assert frame.set_index("operation").round(2).loc["wan-2.5", "recognised"] == 31.20
