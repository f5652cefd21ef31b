"""The figures of an economics report: exact fractions inside, ``Money`` outside."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, Literal

from creditcore._economics.exact import ratio, to_decimal
from creditcore.pricing import Money

__all__ = [
    "DIMENSIONS",
    "MONEY_FIELDS",
    "Dimension",
    "Figures",
    "ReplayFigures",
    "RollForward",
]

Dimension = Literal["operation", "provider", "kind", "channel", "tier", "user", "day", "month"]
"""What a report can be grouped by (``kind`` is the operation's kind: image, video, ...)."""

DIMENSIONS: Final[tuple[Dimension, ...]] = (
    "operation",
    "provider",
    "kind",
    "channel",
    "tier",
    "user",
    "day",
    "month",
)

MONEY_FIELDS: Final = (
    "cash_collected",
    "cash_returned",
    "value_issued",
    "recognised",
    "breakage",
    "provider_cost",
    "gross_profit",
    "revoked",
    "written_off",
    "debt_recovered",
    "deferred_opening",
    "deferred_closing",
)
"""The money figures of :class:`Figures`, in the column order of records and tables."""


def _money(value: Fraction | None, currency: str) -> Money | None:
    return None if value is None else Money(to_decimal(value), currency)


def _need(value: Fraction | None, currency: str) -> Money:
    money = _money(value, currency)
    assert money is not None
    return money


@dataclass(frozen=True, slots=True)
class Figures:
    """The economics of one group (or of the whole range), exact.

    Every ``*_exact`` attribute is an exact :class:`~fractions.Fraction` in ``currency``; the
    properties of the same name without the suffix hand them out as :class:`Money` (exact when
    the fraction terminates in base 10, else to 28 significant digits).

    Attributes:
        currency: The catalog's currency.
        cash_collected_exact: Money received for purchases (net of tax, after discounts).
        cash_returned_exact: Money given back: refunds of payments and chargebacks.
        value_issued_exact: The value of credits put into lots: purchases (less what paid a
            debt) and subscription allowances.
        recognised_exact: Revenue recognised: credits consumed × the value of the lots they
            were drawn from, less the value of credits refunded (by the lots they went back to).
        breakage_exact: The value of subscription credits that expired unused at a reset.
        provider_cost_exact: What the provider bills for the calls (refunded calls reversed pro
            rata); calls whose cost is unknown are counted in ``cost_unknown_calls``.
        revoked_exact: The value of unspent credits taken back with a refunded or disputed
            payment.
        written_off_exact: The value of credits already consumed when their payment was
            refunded or disputed: recognised revenue whose cash went back (they became debt).
        debt_recovered_exact: The value of purchased credits that paid such a debt.
        deferred_opening_exact: Deferred revenue (the value of unspent credits, a liability) at
            the start; ``None`` for groups that do not partition lots (by operation, day...).
        deferred_closing_exact: The same at the end.
        credits_consumed: Credits consumed (before refunds).
        credits_refunded: Credits refunded.
        calls: Consumptions (``consume``, ``capture``, ``charge``).
        unvalued_credits: Net credits consumed from lots whose value is unknown (not in
            ``recognised``, never counted as $0).
        cost_unknown_calls: Consumptions whose provider cost was not recorded.
    """

    currency: str
    cash_collected_exact: Fraction = Fraction(0)
    cash_returned_exact: Fraction = Fraction(0)
    value_issued_exact: Fraction = Fraction(0)
    recognised_exact: Fraction = Fraction(0)
    breakage_exact: Fraction = Fraction(0)
    provider_cost_exact: Fraction = Fraction(0)
    revoked_exact: Fraction = Fraction(0)
    written_off_exact: Fraction = Fraction(0)
    debt_recovered_exact: Fraction = Fraction(0)
    deferred_opening_exact: Fraction | None = None
    deferred_closing_exact: Fraction | None = None
    credits_consumed: int = 0
    credits_refunded: int = 0
    calls: int = 0
    unvalued_credits: int = 0
    cost_unknown_calls: int = 0

    # --- money ------------------------------------------------------------------------------

    @property
    def cash_collected(self) -> Money:
        """See :attr:`cash_collected_exact`."""
        return _need(self.cash_collected_exact, self.currency)

    @property
    def cash_returned(self) -> Money:
        """See :attr:`cash_returned_exact`."""
        return _need(self.cash_returned_exact, self.currency)

    @property
    def value_issued(self) -> Money:
        """See :attr:`value_issued_exact`."""
        return _need(self.value_issued_exact, self.currency)

    @property
    def recognised(self) -> Money:
        """See :attr:`recognised_exact`."""
        return _need(self.recognised_exact, self.currency)

    @property
    def breakage(self) -> Money:
        """See :attr:`breakage_exact`."""
        return _need(self.breakage_exact, self.currency)

    @property
    def provider_cost(self) -> Money:
        """See :attr:`provider_cost_exact`."""
        return _need(self.provider_cost_exact, self.currency)

    @property
    def gross_profit_exact(self) -> Fraction:
        """Recognised revenue less provider cost (breakage not included)."""
        return self.recognised_exact - self.provider_cost_exact

    @property
    def gross_profit(self) -> Money:
        """See :attr:`gross_profit_exact`."""
        return _need(self.gross_profit_exact, self.currency)

    @property
    def revoked(self) -> Money:
        """See :attr:`revoked_exact`."""
        return _need(self.revoked_exact, self.currency)

    @property
    def written_off(self) -> Money:
        """See :attr:`written_off_exact`."""
        return _need(self.written_off_exact, self.currency)

    @property
    def debt_recovered(self) -> Money:
        """See :attr:`debt_recovered_exact`."""
        return _need(self.debt_recovered_exact, self.currency)

    @property
    def deferred_opening(self) -> Money | None:
        """See :attr:`deferred_opening_exact`."""
        return _money(self.deferred_opening_exact, self.currency)

    @property
    def deferred_closing(self) -> Money | None:
        """See :attr:`deferred_closing_exact`."""
        return _money(self.deferred_closing_exact, self.currency)

    # --- ratios -----------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Whether every credit consumed was valued and every call's cost known."""
        return self.unvalued_credits == 0 and self.cost_unknown_calls == 0

    @property
    def gross_margin_exact(self) -> Fraction | None:
        """Realised gross margin, (recognised − provider cost) ÷ recognised; ``None`` when
        recognised revenue is 0 or the figures are incomplete."""
        if not self.complete:
            return None
        return ratio(self.gross_profit_exact, self.recognised_exact)

    @property
    def markup_exact(self) -> Fraction | None:
        """Realised markup, (recognised − provider cost) ÷ provider cost; ``None`` when the cost
        is 0 or the figures are incomplete."""
        if not self.complete:
            return None
        return ratio(self.gross_profit_exact, self.provider_cost_exact)

    @property
    def gross_margin(self) -> Decimal | None:
        """See :attr:`gross_margin_exact`."""
        value = self.gross_margin_exact
        return None if value is None else to_decimal(value)

    @property
    def markup(self) -> Decimal | None:
        """See :attr:`markup_exact`."""
        value = self.markup_exact
        return None if value is None else to_decimal(value)

    def money(self, name: str) -> Money | None:
        """The money figure ``name`` (one of :data:`MONEY_FIELDS`)."""
        if name not in MONEY_FIELDS:
            raise KeyError(name)
        value: Money | None = getattr(self, name)
        return value

    def exact(self, name: str) -> Fraction | None:
        """The exact figure ``name`` (one of :data:`MONEY_FIELDS`)."""
        if name not in MONEY_FIELDS:
            raise KeyError(name)
        value: Fraction | None = getattr(self, f"{name}_exact")
        return value


@dataclass(frozen=True, slots=True)
class RollForward:
    """Deferred revenue from the start of the range to its end, to the cent and beyond.

    ``opening + issued − recognised − breakage − revoked = closing`` must hold exactly;
    :attr:`difference` is what is left when it does not (always 0 for a journal the ledger
    wrote).

    Attributes:
        currency: The catalog's currency.
        opening: Deferred revenue at the start.
        issued: Value issued into lots.
        recognised: Revenue recognised (net of refunds).
        breakage: Subscription credits expired unused.
        revoked: Unspent credits taken back with refunded or disputed payments.
        closing: Deferred revenue at the end, from the lots' balances.
    """

    currency: str
    opening: Fraction
    issued: Fraction
    recognised: Fraction
    breakage: Fraction
    revoked: Fraction
    closing: Fraction

    @property
    def difference(self) -> Fraction:
        """``opening + issued − recognised − breakage − revoked − closing`` (0 when it holds)."""
        return (
            self.opening
            + self.issued
            - self.recognised
            - self.breakage
            - self.revoked
            - self.closing
        )

    @property
    def reconciles(self) -> bool:
        """Whether the identity holds exactly."""
        return self.difference == 0

    def lines(self) -> list[tuple[str, Money]]:
        """The roll-forward as (label, signed amount) lines, for display."""
        return [
            ("deferred revenue at start", _need(self.opening, self.currency)),
            ("+ value issued", _need(self.issued, self.currency)),
            ("− revenue recognised", _need(-self.recognised, self.currency)),
            ("− breakage", _need(-self.breakage, self.currency)),
            ("− revoked (refunds, chargebacks)", _need(-self.revoked, self.currency)),
            ("= deferred revenue at end", _need(self.closing, self.currency)),
        ]


@dataclass(frozen=True, slots=True)
class ReplayFigures:
    """One group's usage as it happened and re-priced under another catalog.

    Attributes:
        actual: What happened (recognised revenue and provider cost).
        replayed: The same calls with the other catalog's credits per operation, credit values
            and provider costs.
        calls_not_priced: Calls whose operation the other catalog does not have (counted at
            their actual figures in ``replayed``).
    """

    actual: Figures
    replayed: Figures
    calls_not_priced: int = 0

    @property
    def recognised_change(self) -> Money:
        """Replayed recognised revenue less the actual one."""
        return self.replayed.recognised - self.actual.recognised

    @property
    def provider_cost_change(self) -> Money:
        """Replayed provider cost less the actual one."""
        return self.replayed.provider_cost - self.actual.provider_cost

    @property
    def gross_profit_change(self) -> Money:
        """Replayed gross profit less the actual one."""
        return self.replayed.gross_profit - self.actual.gross_profit
