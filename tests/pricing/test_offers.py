"""Lootbox windows in America/New_York: half-open, DST-safe, with brute-force oracles."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditcore import InvalidInput, NaiveDatetime
from creditcore.pricing import LootboxOffer, Money, MonthlyWindow, WeeklyWindow, example_catalog

NY = ZoneInfo("America/New_York")
WEEKEND = example_catalog().offer("weekend-flash-sale")
MID_MONTH = example_catalog().offer("mid-month-mega-deal")
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


def test_weekend_open_at_2259_and_closed_at_2300_on_the_dst_sunday() -> None:
    assert WEEKEND.is_open(datetime(2026, 3, 8, 22, 59, tzinfo=NY))
    assert not WEEKEND.is_open(datetime(2026, 3, 8, 23, 0, tzinfo=NY))


def test_weekend_lasts_52_hours_in_spring_and_54_in_autumn() -> None:
    spring = WEEKEND.window_at(datetime(2026, 3, 7, 12, tzinfo=NY))
    autumn = WEEKEND.window_at(datetime(2026, 10, 31, 12, tzinfo=NY))
    ordinary = WEEKEND.window_at(datetime(2026, 6, 6, 12, tzinfo=NY))
    assert spring is not None
    assert autumn is not None
    assert ordinary is not None
    # Fri 18:00 EST (23:00 UTC) to Sun 23:00 EDT (03:00 UTC Monday): 52 h.
    assert spring[1] - spring[0] == timedelta(hours=52)
    assert spring[0] == datetime(2026, 3, 6, 23, tzinfo=UTC)
    assert spring[1] == datetime(2026, 3, 9, 3, tzinfo=UTC)
    assert autumn[1] - autumn[0] == timedelta(hours=54)
    assert ordinary[1] - ordinary[0] == timedelta(hours=53)


def test_opening_is_inclusive_and_next_opening_is_strictly_after() -> None:
    opening = datetime(2026, 3, 13, 18, tzinfo=NY)
    assert WEEKEND.is_open(opening)
    assert not WEEKEND.is_open(opening - timedelta(microseconds=1))
    assert WEEKEND.next_opening(datetime(2026, 3, 8, 23, tzinfo=NY)) == opening
    assert WEEKEND.next_opening(opening) == datetime(2026, 3, 20, 18, tzinfo=NY)


def test_next_opening_prints_local_time_and_subtracts_exactly() -> None:
    opening = WEEKEND.next_opening(datetime(2026, 3, 1, tzinfo=UTC))
    assert opening.isoformat() == "2026-03-06T18:00:00-05:00"


def test_mid_month_window_is_15th_to_end_of_17th() -> None:
    assert not MID_MONTH.is_open(datetime(2026, 4, 14, 23, 59, tzinfo=NY))
    assert MID_MONTH.is_open(datetime(2026, 4, 15, 0, 0, tzinfo=NY))
    assert MID_MONTH.is_open(datetime(2026, 4, 17, 23, 59, 59, tzinfo=NY))
    assert not MID_MONTH.is_open(datetime(2026, 4, 18, 0, 0, tzinfo=NY))
    assert MID_MONTH.next_opening(datetime(2026, 12, 20, tzinfo=NY)) == datetime(
        2027, 1, 15, tzinfo=NY
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(NaiveDatetime):
        WEEKEND.is_open(datetime(2026, 3, 8, 22, 59))
    with pytest.raises(NaiveDatetime):
        WEEKEND.next_opening(datetime(2026, 3, 8, 22, 59))


def _offer(window: WeeklyWindow | MonthlyWindow, zone: str = "America/New_York") -> LootboxOffer:
    return LootboxOffer("o", "O", 1, Money(Decimal(1)), zone, window)


def test_a_window_opening_inside_the_spring_gap_opens_when_the_gap_ends() -> None:
    # Sunday 2026-03-08 02:30 does not exist in New York: clocks go 01:59:59 EST → 03:00 EDT.
    offer = _offer(WeeklyWindow(6, time(2, 30), 6, time(5, 0)))
    window = offer.window_at(datetime(2026, 3, 8, 4, tzinfo=NY))
    assert window is not None
    assert window[0] == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert window[1] - window[0] == timedelta(hours=2)


def test_an_ambiguous_opening_takes_its_first_occurrence() -> None:
    # Sunday 2026-11-01 01:30 happens twice in New York; fold=0 is the EDT one (05:30 UTC).
    offer = _offer(WeeklyWindow(6, time(1, 30), 6, time(4, 0)))
    assert offer.next_opening(datetime(2026, 10, 31, tzinfo=UTC)) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_unknown_zone_and_bad_window_fields_are_refused() -> None:
    with pytest.raises(InvalidInput):
        _offer(WeeklyWindow(4, time(18), 6, time(23)), zone="Mars/Olympus")
    with pytest.raises(InvalidInput):
        WeeklyWindow(7, time(18), 6, time(23))
    with pytest.raises(InvalidInput):
        MonthlyWindow(0, time(0), 18, time(0))


def _weekend_oracle(instant: datetime) -> bool:
    local = instant.astimezone(NY)
    day, clock = local.weekday(), local.time()
    return (day == 4 and clock >= time(18)) or day == 5 or (day == 6 and clock < time(23))


def _next_friday_oracle(instant: datetime) -> datetime:
    day = instant.astimezone(NY).date()
    while True:
        candidate = datetime.combine(day, time(18), tzinfo=NY)
        if day.weekday() == 4 and candidate.astimezone(UTC) > instant:
            return candidate
        day += timedelta(days=1)


@given(INSTANTS)
def test_weekend_window_matches_a_wall_clock_oracle(instant: datetime) -> None:
    assert WEEKEND.is_open(instant) == _weekend_oracle(instant)
    assert WEEKEND.next_opening(instant) == _next_friday_oracle(instant)


@given(INSTANTS)
def test_mid_month_window_matches_a_calendar_oracle(instant: datetime) -> None:
    local = instant.astimezone(NY)
    assert MID_MONTH.is_open(instant) == (15 <= local.day <= 17)
    opening = MID_MONTH.next_opening(instant)
    assert opening > instant
    assert opening.astimezone(NY).replace(tzinfo=None).timetuple()[2:6] == (15, 0, 0, 0)
    # No other opening in between: the 15th of the local month, if still ahead, comes first.
    this_month = datetime(local.year, local.month, 15, tzinfo=NY)
    expected = (
        this_month if this_month > instant else (this_month + timedelta(days=32)).replace(day=15)
    )
    assert opening == expected


def test_a_monthly_day_past_the_month_end_means_the_last_day() -> None:
    offer = _offer(MonthlyWindow(31, time(0), 31, time(12)), zone="UTC")
    assert offer.is_open(datetime(2026, 2, 28, 6, tzinfo=UTC))
    assert offer.next_opening(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 3, 31, tzinfo=UTC)
    assert offer.next_opening(datetime(2026, 4, 1, tzinfo=UTC)) == datetime(2026, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "instant",
    [
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata")),
    ],
)
@pytest.mark.parametrize("offer", [WEEKEND, MID_MONTH], ids=["weekly", "monthly"])
def test_instants_at_the_ends_of_the_calendar_are_refused_by_name(
    offer: LootboxOffer, instant: datetime
) -> None:
    for ask, field in (
        (offer.window_at, "at"),
        (offer.is_open, "at"),
        (offer.next_window, "after"),
    ):
        with pytest.raises(InvalidInput) as caught:
            ask(instant)
        assert caught.value.context["field"] == field
        assert instant.isoformat() in caught.value.message
