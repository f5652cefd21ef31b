"""The catalog file format as pydantic models: the source of truth for ``pricing schema``.

Amounts are *strings* (``api_cost = "0.038"``): a TOML or JSON float would already have been
rounded to binary before anyone could check it, so a float where money is expected is an error
that names its path. Unknown keys are errors. Checks that read one value (a negative cost, an
unknown time zone, a malformed window time) raise pydantic custom errors whose ``type`` is the
stable problem code; the loader turns them into ``(path, code, message)`` triples.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from creditcore._exceptions import InvalidInput
from creditcore._limits import MAX_CREDITS
from creditcore._pricing.money import parse_decimal
from creditcore._pricing.offers import load_zone
from creditcore._pricing.windows import parse_clock, parse_weekday_clock

__all__ = [
    "CatalogFile",
    "MonthlyWindowSpec",
    "OfferSpec",
    "OperationSpec",
    "PackSpec",
    "PolicySpec",
    "SubscriptionSpec",
    "TierSpec",
    "WeeklyWindowSpec",
    "json_schema",
]

DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"


def _number(text: str) -> Decimal:
    try:
        return parse_decimal(text, "value")
    except InvalidInput:
        raise PydanticCustomError(
            "not_a_number",
            "must be a decimal number as a string such as '0.038', got {value}",
            {"value": repr(text)},
        ) from None


def _non_negative(text: str) -> str:
    number = _number(text)
    if number < 0:
        raise PydanticCustomError("negative", "must be ≥ 0, got {value}", {"value": text})
    return text


def _positive(text: str) -> str:
    number = _number(text)
    if number <= 0:
        raise PydanticCustomError("not_positive", "must be > 0, got {value}", {"value": text})
    return text


def _fraction(text: str) -> str:
    number = _number(text)
    if not Decimal(0) <= number < 1:
        raise PydanticCustomError(
            "out_of_range", "must be a fraction ≥ 0 and < 1, got {value}", {"value": text}
        )
    return text


def _zone(text: str) -> str:
    try:
        load_zone(text)
    except InvalidInput:
        raise PydanticCustomError(
            "unknown_timezone",
            "not an IANA time zone such as 'America/New_York', got {value}",
            {"value": repr(text)},
        ) from None
    return text


def _clock(text: str) -> str:
    try:
        parse_clock(text, "time")
    except InvalidInput:
        raise PydanticCustomError(
            "bad_time", "must be a 24-hour time 'HH:MM', got {value}", {"value": repr(text)}
        ) from None
    return text


def _weekday_clock(text: str) -> str:
    try:
        parse_weekday_clock(text, "time")
    except InvalidInput:
        raise PydanticCustomError(
            "bad_time",
            "must be a weekday and a time such as 'fri 18:00', got {value}",
            {"value": repr(text)},
        ) from None
    return text


_MONEY_DOC = 'An amount as a decimal string (never a float), e.g. "0.038".'
Cost = Annotated[
    str,
    Field(pattern=DECIMAL_PATTERN, description=_MONEY_DOC),
    AfterValidator(_non_negative),
]
PositiveAmount = Annotated[
    str, Field(pattern=DECIMAL_PATTERN, description=_MONEY_DOC), AfterValidator(_positive)
]
GrossMargin = Annotated[
    str,
    Field(pattern=DECIMAL_PATTERN, description='A gross-margin fraction in [0, 1), e.g. "0.05".'),
    AfterValidator(_fraction),
]
Name = Annotated[str, Field(min_length=1)]
Credits = Annotated[
    int,
    Field(ge=1, le=MAX_CREDITS, description="Whole credits (an integer from 1 to 2**53 - 1)."),
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SubscriptionSpec(_Spec):
    """``[subscription]``: what one subscription credit is worth."""

    credit_value: PositiveAmount


class PolicySpec(_Spec):
    """``[policy]``: gross-margin floor and target (one value, or a ``[min, max]`` band)."""

    floor: GrossMargin
    target: GrossMargin | Annotated[list[GrossMargin], Field(min_length=2, max_length=2)] | None = (
        None
    )
    channel_spread: PositiveAmount | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PolicySpec:
        low = Decimal(self.floor)
        band = self.target if isinstance(self.target, list) else [self.target or self.floor]
        if Decimal(band[0]) < low:
            raise PydanticCustomError(
                "target_below_floor",
                "target {target} is below the floor {floor}",
                {"target": band[0], "floor": self.floor},
            )
        if Decimal(band[-1]) < Decimal(band[0]):
            raise PydanticCustomError(
                "inverted_band",
                "target band maximum {high} is below its minimum {low}",
                {"high": band[-1], "low": band[0]},
            )
        return self


class OperationSpec(_Spec):
    """One ``[[operations]]`` row: a billable call, its API cost and its credit charge."""

    id: Name
    provider: Name
    model: Name
    variant: str | None = None
    kind: Name
    api_cost: Cost
    credits: Credits
    source: str | None = None
    observed: Annotated[date | None, Field(strict=False)] = None
    valid_from: Annotated[datetime | None, Field(strict=False)] = None
    valid_to: Annotated[datetime | None, Field(strict=False)] = None

    @model_validator(mode="after")
    def _validity(self) -> OperationSpec:
        for name in ("valid_from", "valid_to"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise PydanticCustomError(
                    "naive_datetime",
                    "{name} needs a UTC offset, got {value}",
                    {"name": name, "value": value.isoformat()},
                )
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise PydanticCustomError(
                "empty_validity",
                "valid_to {end} is not after valid_from {start}",
                {"end": self.valid_to.isoformat(), "start": self.valid_from.isoformat()},
            )
        return self


class TierSpec(_Spec):
    """One ``[[tiers]]`` entry, lowest tier first; ``models`` are the models it adds."""

    name: Name
    monthly_credits: Annotated[int, Field(ge=0, le=MAX_CREDITS)]
    price: Cost | None = None
    models: list[Name] = Field(default_factory=list)


class PackSpec(_Spec):
    """One ``[[packs]]`` entry: credits for a price, always on sale."""

    id: Name
    name: Name
    credits: Credits
    price: Cost
    price_ids: list[Name] = Field(default_factory=list)


class WeeklyWindowSpec(_Spec):
    """``window = { kind = "weekly", start = "fri 18:00", end = "sun 23:00" }``."""

    kind: Literal["weekly"]
    start: Annotated[str, AfterValidator(_weekday_clock)]
    end: Annotated[str, AfterValidator(_weekday_clock)]


class MonthlyWindowSpec(_Spec):
    """``window = { kind = "monthly", start_day = 15, start = "00:00", end_day = 18, end = "00:00" }``."""

    kind: Literal["monthly"]
    start_day: Annotated[int, Field(ge=1, le=31)]
    start: Annotated[str, AfterValidator(_clock)]
    end_day: Annotated[int, Field(ge=1, le=31)]
    end: Annotated[str, AfterValidator(_clock)]


class OfferSpec(_Spec):
    """One ``[[offers]]`` entry: credits for a price inside a recurring local-time window."""

    id: Name
    name: Name
    credits: Credits
    price: Cost
    timezone: Annotated[str, AfterValidator(_zone)]
    window: Annotated[WeeklyWindowSpec | MonthlyWindowSpec, Field(discriminator="kind")]
    price_ids: list[Name] = Field(default_factory=list)


class CatalogFile(_Spec):
    """A creditcore pricing catalog (TOML or JSON)."""

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    subscription: SubscriptionSpec | None = None
    policy: PolicySpec | None = None
    operations: list[OperationSpec]
    tiers: list[TierSpec] = Field(default_factory=list)
    packs: list[PackSpec] = Field(default_factory=list)
    offers: list[OfferSpec] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of catalog files (for editors; TOML editors such as Taplo read it too)."""
    schema = CatalogFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "creditcore pricing catalog"
    return schema


def json_schema_text() -> str:
    """:func:`json_schema` as indented JSON text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
