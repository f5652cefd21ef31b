"""Matplotlib figures of a report (the ``analysis`` extra); no pyplot, so no global state."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from creditcore._economics.report import EconomicsReport

__all__ = ["margin_plot", "timeline_plot"]


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - the analysis extra is installed in tests
        raise ImportError("plot needs matplotlib: pip install 'creditcore[analysis]'") from error
    return Figure(figsize=(width, height), layout="constrained")


def margin_plot(report: EconomicsReport) -> Figure:
    """Realised gross margin (%) by operation × channel, as grouped bars."""
    operations = sorted(
        {row.key.get("operation") or "-" for row in report.rows if row.figures.calls}
    )
    channels = sorted({row.key.get("channel") or "-" for row in report.rows if row.figures.calls})
    figure = _figure(9, 4.8)
    axes = figure.subplots()
    width = 0.8 / max(len(channels), 1)
    for c, channel in enumerate(channels):
        heights: list[float] = []
        for operation in operations:
            margin: Fraction | None = None
            for row in report.rows:
                if (row.key.get("operation") or "-") == operation and (
                    row.key.get("channel") or "-"
                ) == channel:
                    margin = row.figures.gross_margin_exact
            heights.append(float("nan") if margin is None else float(margin) * 100)
        positions = [i + c * width for i in range(len(operations))]
        axes.bar(positions, heights, width=width, label=channel)
    axes.set_xticks([i + width * (len(channels) - 1) / 2 for i in range(len(operations))])
    axes.set_xticklabels(operations, rotation=20, ha="right")
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_ylabel("realised gross margin (%)")
    axes.set_title(
        f"Gross margin by operation and channel, {report.start.date()} to {report.end.date()}"
    )
    axes.legend(title="credits from", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if "free" in channels:
        axes.annotate(
            "free credits earn nothing: no margin (cost only)",
            xy=(0, -0.28),
            xycoords="axes fraction",
            fontsize=8,
        )
    return figure


def timeline_plot(report: EconomicsReport, opening: Fraction) -> Figure:
    """Cash collected, recognised revenue and provider cost per day, and deferred revenue at
    the end of each day (opening rolled forward)."""
    rows = sorted(report.rows, key=lambda row: row.key.get("day") or "")
    days = [row.key.get("day") or "-" for row in rows]
    cash = [float(row.figures.cash_collected_exact) for row in rows]
    recognised = [float(row.figures.recognised_exact) for row in rows]
    cost = [float(row.figures.provider_cost_exact) for row in rows]
    deferred: list[float] = []
    level = opening
    for row in rows:
        f = row.figures
        level += f.value_issued_exact - f.recognised_exact - f.breakage_exact - f.revoked_exact
        deferred.append(float(level))
    figure = _figure(9, 5)
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.bar(days, cash, color="tab:green", label="cash collected")
    top.plot(days, recognised, color="tab:blue", marker="o", label="recognised revenue")
    top.plot(days, cost, color="tab:red", marker="o", label="provider cost")
    top.set_ylabel(report.currency)
    top.legend()
    top.set_title("Cash, revenue and cost per day")
    bottom.plot(days, deferred, color="tab:purple", marker="o", label="deferred revenue")
    bottom.set_ylabel(report.currency)
    bottom.set_title("Deferred revenue (unspent paid credits) at the end of each day")
    bottom.tick_params(axis="x", rotation=60)
    bottom.legend()
    return figure
