"""The economics report: figures per group, the roll-forward, records, frames and plots."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from creditcore._economics.exact import to_decimal
from creditcore._economics.figures import (
    DIMENSIONS,
    MONEY_FIELDS,
    Dimension,
    Figures,
    ReplayFigures,
    RollForward,
)
from creditcore._economics.fold import fold
from creditcore._exceptions import InvalidInput
from creditcore._time import require_aware
from creditcore.ledger import Transaction
from creditcore.pricing import Catalog

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure as PlotFigure

__all__ = [
    "COUNT_FIELDS",
    "EconomicsRecord",
    "EconomicsReport",
    "Replay",
    "ReplayRow",
    "Row",
    "check_by",
    "check_range",
    "economics_of",
]

COUNT_FIELDS = (
    "credits_consumed",
    "credits_refunded",
    "calls",
    "unvalued_credits",
    "cost_unknown_calls",
)
"""The whole-number columns of a record."""

EconomicsRecord = dict[str, str | int | float | Decimal | None]
"""One row of :meth:`EconomicsReport.to_records`."""

TransactionSource = Callable[[], Iterable[Transaction]]


def check_by(by: Iterable[str] | str) -> tuple[Dimension, ...]:
    """``by`` as a tuple of known, distinct dimensions.

    Raises:
        InvalidInput: An unknown or repeated dimension.
    """
    names = (by,) if isinstance(by, str) else tuple(by)
    out: list[Dimension] = []
    for name in names:
        match = next((d for d in DIMENSIONS if d == name), None)
        if match is None:
            raise InvalidInput(
                f"by: unknown dimension {name!r} (known: {', '.join(DIMENSIONS)})",
                field="by",
                value=name,
            )
        if match in out:
            raise InvalidInput(f"by: {name!r} is named twice", field="by", value=name)
        out.append(match)
    return tuple(out)


def check_range(start: datetime, end: datetime) -> None:
    """Both aware, ``start < end``.

    Raises:
        NaiveDatetime: A bound without a time zone.
        InvalidInput: ``end`` not after ``start``.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if not start < end:
        raise InvalidInput(
            f"end: must be after start ({start.isoformat()}), got {end.isoformat()}",
            field="end",
            value=end,
        )


@dataclass(frozen=True, slots=True)
class Row:
    """One group of a report.

    Attributes:
        key: The group's value for each ``by`` dimension (``None``: does not apply, e.g. the
            operation of a purchase).
        figures: Its figures.
    """

    key: Mapping[str, str | None]
    figures: Figures


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One group of a replay: what happened and what the other catalog would have made."""

    key: Mapping[str, str | None]
    figures: ReplayFigures


def _float(value: Fraction | None) -> float:
    return float("nan") if value is None else float(value)


def _exact(value: Fraction | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


def _record(key: Mapping[str, str | None], figures: Figures) -> EconomicsRecord:
    record: EconomicsRecord = dict(key)
    for name in MONEY_FIELDS:
        value = figures.exact(name)
        record[name] = _float(value)
        record[f"{name}_exact"] = _exact(value)
    record["gross_margin"] = _float(figures.gross_margin_exact)
    record["gross_margin_exact"] = _exact(figures.gross_margin_exact)
    record["markup"] = _float(figures.markup_exact)
    record["markup_exact"] = _exact(figures.markup_exact)
    for name in COUNT_FIELDS:
        record[name] = getattr(figures, name)
    record["currency"] = figures.currency
    return record


def _frame(records: list[EconomicsRecord], columns: Sequence[str]) -> pd.DataFrame:
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - the analysis extra is installed in tests
        raise ImportError(
            "to_dataframe needs pandas: pip install 'creditcore[analysis]'"
        ) from error
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    for name in columns:
        if name.endswith("_exact") or name in DIMENSIONS or name == "currency":
            frame[name] = frame[name].astype(object)
    return frame


@dataclass(frozen=True, slots=True)
class Replay:
    """The same usage as a report, re-priced under another catalog, side by side.

    Attributes:
        by: The grouping.
        rows: Per group, actual and replayed figures.
        total: The whole range.
    """

    by: tuple[Dimension, ...]
    rows: tuple[ReplayRow, ...]
    total: ReplayFigures

    def to_records(self) -> list[EconomicsRecord]:
        """One flat dict per group: actual and replayed recognised revenue, cost, margins."""
        out: list[EconomicsRecord] = []
        for row in self.rows:
            record: EconomicsRecord = dict(row.key)
            for side, figures in (
                ("actual", row.figures.actual),
                ("replayed", row.figures.replayed),
            ):
                for name in ("recognised", "provider_cost", "gross_profit"):
                    value = figures.exact(name)
                    record[f"{side}_{name}"] = _float(value)
                    record[f"{side}_{name}_exact"] = _exact(value)
                record[f"{side}_gross_margin"] = _float(figures.gross_margin_exact)
                record[f"{side}_markup"] = _float(figures.markup_exact)
            record["calls"] = row.figures.actual.calls
            record["calls_not_priced"] = row.figures.calls_not_priced
            out.append(record)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """:meth:`to_records` as a pandas ``DataFrame`` (the ``analysis`` extra)."""
        records = self.to_records()
        columns = list(records[0]) if records else list(self.by)
        return _frame(records, columns)


@dataclass(frozen=True, slots=True)
class EconomicsReport:
    """What a price list earned over a half-open range ``[start, end)``, across all accounts.

    Attributes:
        start: First instant of the range.
        end: First instant after it.
        by: The grouping (may be empty: one row, the total).
        currency: The catalog's currency; every figure is in it.
        rows: Figures per group.
        total: Figures of the whole range (deferred revenue included).
        roll_forward: Deferred revenue from start to end (:attr:`RollForward.reconciles`).
        unvalued_lots: Lots whose credits have no known value, with the reason, by lot id.
    """

    start: datetime
    end: datetime
    by: tuple[Dimension, ...]
    currency: str
    rows: tuple[Row, ...]
    total: Figures
    roll_forward: RollForward
    unvalued_lots: Mapping[str, str]
    _catalog: Catalog = field(repr=False, compare=False)
    _source: TransactionSource = field(repr=False, compare=False)

    def row(self, **key: str | None) -> Row:
        """The row whose key has these values (``report.row(operation="wan-2.5")``).

        Raises:
            KeyError: No such row.
        """
        for row in self.rows:
            if all(row.key.get(name) == value for name, value in key.items()):
                return row
        raise KeyError(key)

    def replay(self, other: Catalog, *, by: Iterable[str] | str | None = None) -> Replay:
        """The same usage re-priced under ``other``: its credits per operation, its credit values
        (tier prices, pack and offer prices) and its provider costs, beside what happened.

        Users are assumed to make the same calls (no change of behaviour; balances are not
        re-checked); breakage and cash are not replayed.

        Args:
            other: The catalog to re-price under.
            by: Grouping of the replay (default: the report's).
        """
        if not isinstance(other, Catalog):
            raise InvalidInput(f"other: expected a Catalog, got {other!r}", field="other")
        dims = self.by if by is None else check_by(by)
        done = fold(
            self._source(), self._catalog, start=self.start, end=self.end, by=dims, other=other
        )
        assert done.replay_total is not None
        rows = tuple(
            ReplayRow(dict(zip(dims, key, strict=True)), figures)
            for key, figures in sorted(done.replay.items(), key=lambda kv: _sort_key(kv[0]))
        )
        return Replay(dims, rows, done.replay_total)

    # --- records ----------------------------------------------------------------------------

    def columns(self) -> list[str]:
        """The record keys, in order."""
        names: list[str] = list(self.by)
        for name in MONEY_FIELDS:
            names += [name, f"{name}_exact"]
        names += ["gross_margin", "gross_margin_exact", "markup", "markup_exact"]
        return [*names, *COUNT_FIELDS, "currency"]

    def to_records(self, *, total: bool = False) -> list[EconomicsRecord]:
        """One flat dict per group (and the total last when ``total``).

        Each money figure appears twice: as a ``float`` column that pandas can round and plot
        (``recognised``) and as the exact ``Decimal`` beside it (``recognised_exact``); ratios
        likewise. A figure that does not apply is ``NaN`` in the float column and ``None`` in
        the exact one.
        """
        out = [_record(row.key, row.figures) for row in self.rows]
        if total:
            out.append(_record(dict.fromkeys(self.by, "TOTAL"), self.total))
        return out

    def to_dataframe(self, *, total: bool = False) -> pd.DataFrame:
        """:meth:`to_records` as a pandas ``DataFrame`` (needs the ``analysis`` extra).

        Raises:
            ImportError: pandas is not installed.
        """
        return _frame(self.to_records(total=total), self.columns())

    # --- plots ------------------------------------------------------------------------------

    def plot(self, kind: str = "margin") -> PlotFigure:
        """A matplotlib figure (needs the ``analysis`` extra).

        Args:
            kind: ``"margin"``: realised gross margin by operation × channel (a fresh grouping of
                the same range); ``"timeline"``: cash collected, recognised revenue, provider
                cost and deferred revenue by day.

        Raises:
            ImportError: matplotlib is not installed.
            InvalidInput: An unknown ``kind``.
        """
        from creditcore._economics.plots import margin_plot, timeline_plot

        if kind == "margin":
            return margin_plot(self.regroup(("operation", "channel")))
        if kind == "timeline":
            return timeline_plot(self.regroup(("day",)), self.roll_forward.opening)
        raise InvalidInput(
            f"kind: expected 'margin' or 'timeline', got {kind!r}", field="kind", value=kind
        )

    def regroup(self, by: Iterable[str] | str) -> EconomicsReport:
        """The same range grouped differently (one more pass over the journal)."""
        return economics_of(self._source, self._catalog, start=self.start, end=self.end, by=by)

    # --- text -------------------------------------------------------------------------------

    def table(self, places: int = 2) -> str:
        """The report as a fixed-width text table, amounts rounded to ``places`` decimals."""
        heads = [
            *self.by,
            "cash in",
            "cash out",
            "recognised",
            "breakage",
            "cost",
            "margin",
            "markup",
            "calls",
        ]
        lines: list[list[str]] = []
        pairs: list[tuple[Mapping[str, str | None], Figures]] = [
            (row.key, row.figures) for row in self.rows
        ]
        pairs.append((dict.fromkeys(self.by, "TOTAL"), self.total))
        for key, figures in pairs:
            lines.append(
                [
                    *(key.get(d) or "-" for d in self.by),
                    _fmt(figures.cash_collected_exact, places),
                    _fmt(figures.cash_returned_exact, places),
                    _fmt(figures.recognised_exact, places),
                    _fmt(figures.breakage_exact, places),
                    _fmt(figures.provider_cost_exact, places),
                    _pct(figures.gross_margin_exact),
                    _pct(figures.markup_exact),
                    str(figures.calls),
                ]
            )
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(heads)]
        text = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
        for line in lines:
            text.append("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
        roll = self.roll_forward
        text.append("")
        text.append(f"deferred revenue, {self.start.isoformat()} → {self.end.isoformat()}:")
        for label, money in roll.lines():
            text.append(f"  {label:<36} {_fmt(money.exact(), places):>14} {self.currency}")
        state = "reconciles" if roll.reconciles else f"OFF BY {to_decimal(roll.difference)}"
        text.append(f"  roll-forward {state}")
        if self.unvalued_lots or self.total.cost_unknown_calls:
            text.append(
                f"  {len(self.unvalued_lots)} unvalued lot(s), {self.total.unvalued_credits} "
                f"unvalued credit(s) consumed, {self.total.cost_unknown_calls} call(s) with "
                "cost unknown (not counted as $0)"
            )
        return "\n".join(text)


def _fmt(value: Fraction, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return str(to_decimal(value).quantize(quantum)) if value is not None else "-"


def _pct(value: Fraction | None) -> str:
    if value is None:
        return "-"
    return f"{to_decimal(value * 100).quantize(Decimal('0.1'))}%"


def _sort_key(key: tuple[str | None, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((0, v) if v is not None else (1, "") for v in key)


def economics_of(
    source: TransactionSource | Iterable[Transaction],
    catalog: Catalog,
    *,
    start: datetime,
    end: datetime,
    by: Iterable[str] | str = (),
) -> EconomicsReport:
    """The report over a journal given directly (see :func:`creditcore.economics.economics`).

    Args:
        source: Every transaction recorded before ``end``, each account's in journal order; or a
            callable returning them afresh (used again by :meth:`EconomicsReport.replay`).
        catalog: Values subscription allowances; its currency is the report's.
        start: First instant of the range (aware).
        end: First instant after it.
        by: Dimensions to group by.
    """
    if not isinstance(catalog, Catalog):
        raise InvalidInput(f"catalog: expected a Catalog, got {catalog!r}", field="catalog")
    check_range(start, end)
    dims = check_by(by)
    if callable(source):
        get: TransactionSource = source
    else:
        kept = list(source)

        def get() -> Iterable[Transaction]:
            return kept

    done = fold(get(), catalog, start=start, end=end, by=dims)
    rows = tuple(
        Row(dict(zip(dims, key, strict=True)), figures)
        for key, figures in sorted(done.groups.items(), key=lambda kv: _sort_key(kv[0]))
    )
    total = done.total
    assert total.deferred_opening_exact is not None
    assert total.deferred_closing_exact is not None
    roll = RollForward(
        currency=catalog.currency,
        opening=total.deferred_opening_exact,
        issued=total.value_issued_exact,
        recognised=total.recognised_exact,
        breakage=total.breakage_exact,
        revoked=total.revoked_exact,
        closing=total.deferred_closing_exact,
    )
    return EconomicsReport(
        start=start,
        end=end,
        by=dims,
        currency=catalog.currency,
        rows=rows,
        total=total,
        roll_forward=roll,
        unvalued_lots=dict(done.unvalued_lots),
        _catalog=catalog,
        _source=get,
    )
