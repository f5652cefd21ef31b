"""For notebooks: flat records, a pandas DataFrame, and "what if" repricing with a diff."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from creditcore._exceptions import UnknownOperation
from creditcore._pricing.catalog import Catalog
from creditcore._pricing.channels import PricePoint, price_point
from creditcore._pricing.money import Money, parse_amount, require_credits

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NUMERIC_KEYS",
    "RECORD_KEYS",
    "RatioChange",
    "Record",
    "RepriceDiff",
    "reprice",
    "to_dataframe",
    "to_records",
]

Record = dict[str, str | int | Decimal | date | datetime | None]
"""One operation × channel row of :func:`to_records`."""

RECORD_KEYS = (
    "operation",
    "provider",
    "model",
    "variant",
    "kind",
    "channel",
    "channel_kind",
    "credit_value",
    "cost",
    "credits",
    "revenue",
    "markup",
    "gross_margin",
    "currency",
    "tier",
    "source",
    "observed",
    "valid_from",
    "valid_to",
)
"""The keys of every record, in column order."""


def _points(catalog: Catalog) -> list[PricePoint]:
    channels = catalog.channels  # built once, not once per operation
    return [
        price_point(operation, channel) for operation in catalog.operations for channel in channels
    ]


def to_records(catalog: Catalog) -> list[Record]:
    """One flat dict per operation row × sales channel (free grants included, at $0).

    Amounts and ratios are exact ``Decimal`` (``None`` where a ratio is undefined: markup at zero
    cost, gross margin at zero revenue); ``tier`` is the lowest tier unlocking the model.
    """
    records: list[Record] = []
    tiers = {model: catalog.lowest_tier_for(model) for model in catalog.models}
    for point in _points(catalog):
        operation = point.operation
        tier = tiers[operation.model]
        records.append(
            {
                "operation": operation.id,
                "provider": operation.provider,
                "model": operation.model,
                "variant": operation.variant,
                "kind": operation.kind,
                "channel": point.channel.id,
                "channel_kind": point.channel.kind,
                "credit_value": point.channel.credit_value,
                "cost": operation.api_cost.amount,
                "credits": operation.credits,
                "revenue": point.revenue.amount,
                "markup": point.markup,
                "gross_margin": point.gross_margin,
                "currency": operation.api_cost.currency,
                "tier": None if tier is None else tier.name,
                "source": operation.source,
                "observed": operation.observed,
                "valid_from": operation.valid_from,
                "valid_to": operation.valid_to,
            }
        )
    return records


NUMERIC_KEYS = ("credit_value", "cost", "revenue", "markup", "gross_margin")
"""Money and ratio columns: ``float`` in :func:`to_dataframe`, with a ``*_exact`` twin."""


def to_dataframe(catalog: Catalog) -> pd.DataFrame:
    """:func:`to_records` as a pandas ``DataFrame``, for notebooks.

    Columns are those of :data:`RECORD_KEYS`, in order, then one ``<name>_exact`` column per
    money or ratio column (:data:`NUMERIC_KEYS`):

    - ``credit_value``, ``cost``, ``revenue``, ``markup``, ``gross_margin`` are ``float64``, so
      ``round``, ``pivot_table``, ``describe`` and plots work on them directly; they are for
      looking, not for arithmetic that must be exact;
    - ``credit_value_exact`` ... ``gross_margin_exact`` hold the exact ``Decimal`` values
      (``object`` dtype), the same as :func:`to_records`.

    One missing-value convention: every missing value (markup at zero cost, gross margin at zero
    revenue, no variant, no tier, no validity bound) is ``NaN``, in every column, never
    ``None``; ``df.isna()``, ``dropna`` and ``fillna`` treat them alike.

    Raises:
        ImportError: pandas is not installed (``pip install 'creditcore[analysis]'``).
    """
    try:
        import pandas as pd
    except ImportError as error:  # pragma: no cover - pandas is installed in the dev setup
        raise ImportError(
            "to_dataframe needs pandas: pip install 'creditcore[analysis]'"
        ) from error
    records = to_records(catalog)
    columns: dict[str, list[object]] = {
        key: [_missing(record[key]) for record in records] for key in RECORD_KEYS
    }
    for key in NUMERIC_KEYS:
        exact = columns[key]
        columns[f"{key}_exact"] = exact
        columns[key] = [value if value is _NAN else float(value) for value in exact]  # type: ignore[arg-type]
    frame = pd.DataFrame(columns)
    for key in NUMERIC_KEYS:
        frame[key] = frame[key].astype("float64")
        frame[f"{key}_exact"] = frame[f"{key}_exact"].astype(object)
    return frame


_NAN = float("nan")


def _missing(value: object) -> object:
    return _NAN if value is None else value


@dataclass(frozen=True, slots=True)
class RatioChange:
    """How one operation × channel changed under :func:`reprice` (``None``: undefined).

    Money is exact ``Decimal`` in the catalog's currency: the cost of one call (an
    ``api_costs=`` what-if moves it) and its revenue on the channel (``credits=`` and
    ``credit_value=`` what-ifs move it).
    """

    operation: str
    channel: str
    credits_before: int
    credits_after: int
    cost_before: Decimal
    cost_after: Decimal
    revenue_before: Decimal
    revenue_after: Decimal
    markup_before: Decimal | None
    markup_after: Decimal | None
    gross_margin_before: Decimal | None
    gross_margin_after: Decimal | None

    @property
    def changed(self) -> bool:
        """Whether the charge, the cost, the revenue or either ratio moved."""
        before = (self.credits_before, self.cost_before, self.revenue_before)
        after = (self.credits_after, self.cost_after, self.revenue_after)
        ratios_before = (self.markup_before, self.gross_margin_before)
        ratios_after = (self.markup_after, self.gross_margin_after)
        return before != after or ratios_before != ratios_after


@dataclass(frozen=True, slots=True)
class RepriceDiff:
    """Every operation × channel before and after a :func:`reprice`, in catalog order.

    ``pd.DataFrame(diff.to_records())`` is the table of a what-if: charge, cost, revenue and
    both ratios before and after, per operation × channel.
    """

    changes: tuple[RatioChange, ...]

    def changed(self) -> tuple[RatioChange, ...]:
        """Only the rows whose charge or ratios moved."""
        return tuple(change for change in self.changes if change.changed)

    def to_records(self) -> list[dict[str, Any]]:
        """The changes as flat dicts (for a DataFrame)."""
        return [dataclasses.asdict(change) for change in self.changes]


def _check_ids(catalog: Catalog, mapping: Mapping[str, Any], field: str) -> None:
    known = {operation.id for operation in catalog.operations}
    for operation_id in mapping:
        if operation_id not in known:
            raise UnknownOperation(
                f"{field}: no operation {operation_id!r} (known: {sorted(known)})",
                operation_id=operation_id,
                field=field,
            )


def _pairs(before: Catalog, after: Catalog) -> list[tuple[PricePoint, PricePoint]]:
    """Matching price points (same row, same channel) of two catalogs with the same rows."""
    pairs = []
    for old_op, new_op in zip(before.operations, after.operations, strict=True):
        new_channels = {channel.id: channel for channel in after.channels}
        for channel in before.channels:
            if channel.id in new_channels:
                pairs.append(
                    (price_point(old_op, channel), price_point(new_op, new_channels[channel.id]))
                )
    return pairs


def reprice(
    catalog: Catalog,
    *,
    credit_value: Money | Decimal | str | Fraction | None = None,
    credits: Mapping[str, int] | None = None,
    api_costs: Mapping[str, Money | Decimal | str | Fraction] | None = None,
) -> tuple[Catalog, RepriceDiff]:
    """A new catalog with some figures changed, and the change of both ratios per row.

    The input catalog is not modified. Every row of an operation id gets the new figure.

    Args:
        catalog: The catalog to start from.
        credit_value: A new subscription credit value.
        credits: New credit charges by operation id (ints ≥ 1).
        api_costs: New API costs by operation id (``Decimal``, numeric string or ``Money``).

    Raises:
        UnknownOperation: A mapping names an operation the catalog does not have.
        InvalidAmount: A float cost, or a charge that is not an int ≥ 1.
    """
    new_credits = dict(credits or {})
    new_costs = dict(api_costs or {})
    _check_ids(catalog, new_credits, "credits")
    _check_ids(catalog, new_costs, "api_costs")
    operations = []
    for operation in catalog.operations:
        changes: dict[str, Any] = {}
        if operation.id in new_credits:
            changes["credits"] = require_credits(
                new_credits[operation.id], f"credits[{operation.id}]", minimum=1
            )
        if operation.id in new_costs:
            field = f"api_costs[{operation.id}]"
            amount = parse_amount(new_costs[operation.id], field, catalog.currency)
            changes["api_cost"] = Money(amount, catalog.currency)
        operations.append(dataclasses.replace(operation, **changes))
    updated: dict[str, Any] = {"operations": operations}
    if credit_value is not None:
        updated["subscription_credit_value"] = credit_value
    after = catalog.replace(**updated)
    diff = RepriceDiff(
        tuple(
            RatioChange(
                operation=new.operation.id,
                channel=new.channel.id,
                credits_before=old.credits,
                credits_after=new.credits,
                cost_before=old.cost.amount,
                cost_after=new.cost.amount,
                revenue_before=old.revenue.amount,
                revenue_after=new.revenue.amount,
                markup_before=old.markup,
                markup_after=new.markup,
                gross_margin_before=old.gross_margin,
                gross_margin_after=new.gross_margin,
            )
            for old, new in _pairs(catalog, after)
        )
    )
    return after, diff
