"""What the price list actually earns: the journal joined to the catalog.

:func:`economics` reads every account's journal for a half-open range ``[start, end)`` and
values each credit by what was paid for it (a pack: the amount paid net of tax over its
credits; an offer: the offer price paid; an allowance: the tier's price over its monthly
credits, else the catalog's subscription credit value; free grants: 0). Revenue is recognised
when credits are consumed, reversed by refunds; unused subscription credits expiring at a reset
are breakage; unspent paid credits are deferred revenue, a liability, and the roll-forward
``opening + issued − recognised − breakage − revoked = closing`` holds exactly. See
``docs/economics.md``.

Example::

    from datetime import UTC, datetime
    from creditcore.economics import economics, simulate
    from creditcore.ledger import InMemoryStore
    from creditcore.pricing import example_catalog

    catalog = example_catalog()
    sim = simulate(InMemoryStore(), catalog, users=50, month="2026-11", seed=1)
    report = economics(sim.ledger, catalog, start=sim.start, end=sim.end, by=("operation",))
    print(report.table())
    assert report.roll_forward.reconciles
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from creditcore._economics.figures import (
    DIMENSIONS,
    MONEY_FIELDS,
    Dimension,
    Figures,
    ReplayFigures,
    RollForward,
)
from creditcore._economics.report import (
    EconomicsRecord,
    EconomicsReport,
    Replay,
    ReplayRow,
    Row,
    check_by,
    check_range,
    economics_of,
)
from creditcore._economics.simulate import OperationMix, Simulation, simulate
from creditcore._economics.valuation import (
    CHANNELS,
    Channel,
    LotValue,
    allowance_value,
    consumption_cost,
    purchase_value,
    refund_lot_value,
)
from creditcore._exceptions import InvalidInput
from creditcore._public import publish
from creditcore.ledger import Ledger
from creditcore.pricing import Catalog

__all__ = [
    "CHANNELS",
    "DIMENSIONS",
    "MONEY_FIELDS",
    "Channel",
    "Dimension",
    "EconomicsRecord",
    "EconomicsReport",
    "Figures",
    "LotValue",
    "OperationMix",
    "Replay",
    "ReplayFigures",
    "ReplayRow",
    "RollForward",
    "Row",
    "Simulation",
    "allowance_value",
    "consumption_cost",
    "economics",
    "economics_of",
    "purchase_value",
    "refund_lot_value",
    "simulate",
]


def economics(
    ledger: Ledger,
    catalog: Catalog,
    *,
    start: datetime,
    end: datetime,
    by: Iterable[str] | str = (),
) -> EconomicsReport:
    """The economics of ``[start, end)`` across every account of ``ledger``.

    Args:
        ledger: The ledger whose journal is read (through its store's time-range scan).
        catalog: The price list: values subscription allowances, names operation kinds; its
            currency is the report's (lots paid in another currency are unvalued).
        start: First instant of the range (aware).
        end: First instant after it (aware, after ``start``).
        by: Any of ``operation``, ``provider``, ``kind``, ``channel``, ``tier``, ``user``,
            ``day``, ``month`` (days and months in UTC).

    Returns:
        The report; :meth:`EconomicsReport.replay` re-prices the same usage under another
        catalog.

    Raises:
        InvalidInput: Not a ledger or a catalog, an unknown dimension, ``end`` ≤ ``start``.
        NaiveDatetime: A bound without a time zone.
    """
    if not isinstance(ledger, Ledger):
        raise InvalidInput(f"ledger: expected a Ledger, got {ledger!r}", field="ledger")
    check_range(start, end)
    check_by(by)

    return economics_of(lambda: ledger.journal(end=end), catalog, start=start, end=end, by=by)


publish(__name__, __all__)
