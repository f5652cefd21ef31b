"""Shared hypothesis strategies for the ledger and its stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from creditcore.ledger import Entry, Hold, Lot, Transaction

__all__ = [
    "aware_datetimes",
    "bad_credits",
    "credits",
    "entries",
    "holds",
    "lots",
    "metadata",
    "transactions",
]

_START = datetime(2020, 1, 1, tzinfo=UTC)


def credits(max_value: int = 60) -> st.SearchStrategy[int]:
    """Valid credit amounts."""
    return st.integers(min_value=1, max_value=max_value)


def bad_credits() -> st.SearchStrategy[object]:
    """Values every credit argument must refuse: zero, negatives, bools, floats, strings, Decimals."""
    return st.one_of(
        st.integers(max_value=0),
        st.booleans(),
        st.floats(allow_nan=True),
        st.decimals(allow_nan=False, places=0, min_value=1, max_value=100),
        st.text(max_size=3),
        st.none(),
    )


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Aware datetimes with microseconds, in a few fixed offsets, 2020-2040."""
    return st.builds(
        lambda micros, hours: (_START + timedelta(microseconds=micros)).astimezone(
            timezone(timedelta(hours=hours))
        ),
        st.integers(min_value=0, max_value=20 * 365 * 86_400 * 10**6),
        st.integers(min_value=-12, max_value=14),
    )


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20)
_texts = st.text(max_size=30)


def metadata() -> st.SearchStrategy[dict[str, str | int | bool | None]]:
    """Metadata mappings of JSON scalars (unicode text included)."""
    return st.dictionaries(
        _texts,
        st.one_of(_texts, st.integers(-(2**53), 2**53), st.booleans(), st.none()),
        max_size=4,
    )


def entries() -> st.SearchStrategy[tuple[Entry, ...]]:
    """Balanced entry tuples (deltas sum to zero, as every store may insist), any balances."""
    account = st.one_of(
        st.sampled_from(["issued", "consumed", "debt"]), _ids.map(lambda i: "lot:" + i)
    )
    leg = st.tuples(account, st.integers(-(10**9), 10**9), st.integers(-(10**12), 10**12))

    def balance(legs: list[tuple[str, int, int]]) -> tuple[Entry, ...]:
        if not legs:
            return ()
        out = [Entry(a, d, b) for a, d, b in legs]
        return (*out, Entry("issued", -sum(d for _, d, _ in legs), 0))

    return st.lists(leg, max_size=4).map(balance)


def transactions(user_id: str, seq: int) -> st.SearchStrategy[Transaction]:
    """Arbitrary transactions of one account at journal position ``seq``."""
    return st.builds(
        Transaction,
        id=_ids.map(lambda i: f"tx_{seq}_{i}"),
        user_id=st.just(user_id),
        seq=st.just(seq),
        kind=st.sampled_from(["consume", "refund", "reserve", "tier"]),
        credits=st.integers(0, 10**9),
        created_at=aware_datetimes(),
        entries=entries(),
        key=st.none() | _texts,
        fingerprint=st.text(alphabet="0123456789abcdef", max_size=32),
        ref=st.none() | _ids,
        payment_id=st.none(),
        metadata=metadata(),
    )


def lots(user_id: str, seq: int) -> st.SearchStrategy[Lot]:
    """Arbitrary valid lots of one account created at ``seq``."""
    return st.integers(1, 10**9).flatmap(
        lambda total: st.builds(
            Lot,
            id=_ids.map(lambda i: f"lot_{seq}_{i}"),
            user_id=st.just(user_id),
            kind=st.sampled_from(["subscription", "purchased", "lootbox"]),
            credits=st.just(total),
            remaining=st.integers(1, total),
            created_at=aware_datetimes(),
            seq=st.just(seq),
            expires_at=st.none() | aware_datetimes(),
            source=st.none() | _texts,
            amount=st.none()
            | st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(Decimal),
            currency=st.none() | st.sampled_from(["USD", "EUR"]),
        )
    )


def holds(user_id: str) -> st.SearchStrategy[Hold]:
    """Arbitrary open holds of one account."""
    return st.builds(
        Hold,
        id=_ids.map(lambda i: "hold_" + i),
        user_id=st.just(user_id),
        credits=st.integers(1, 10**6),
        created_at=aware_datetimes(),
        expires_at=aware_datetimes(),
    )
