"""The pricing report as rows, and as a table, JSON or CSV (used by the CLI and notebooks)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from creditcore._pricing._catalog import Catalog
from creditcore._pricing._channels import PricePoint, price_point
from creditcore._pricing._exact import display, quantize
from creditcore._pricing._policy import Problem, ValidationReport

__all__ = [
    "REPORT_KEYS",
    "ReportRow",
    "render_csv",
    "render_json",
    "render_table",
    "render_validation",
    "report_rows",
]

REPORT_KEYS = ("operation", "channel", "cost", "credits", "revenue", "markup", "gross_margin")
"""Keys of a report row, in column order."""

ReportRow = dict[str, str | int | None]
"""One report row: decimals as strings, credits as an int, ``None`` for an undefined ratio."""


def _text(value: Decimal | None, places: int | None) -> str | None:
    if value is None:
        return None
    if places is None:
        return str(value)
    return str(quantize(value, places))


def report_rows(
    catalog: Catalog, *, channel: str | None = None, places: int | None = None
) -> list[ReportRow]:
    """One row per operation on the basis channel, or on every channel when ``channel="all"``.

    Args:
        catalog: The catalog.
        channel: A channel id, ``"all"``, or ``None`` for the lowest paid credit value.
        places: Round ratios to this many decimals (half-even); ``None`` keeps them exact.
    """
    channels = list(catalog.channels) if channel == "all" else [catalog.basis_channel(channel)]
    points: list[PricePoint] = [
        price_point(operation, basis) for operation in catalog.operations for basis in channels
    ]
    return [
        {
            "operation": point.operation.id,
            "channel": point.channel.id,
            "cost": str(point.cost.amount),
            "credits": point.credits,
            "revenue": str(point.revenue.amount),
            "markup": _text(point.markup, places),
            "gross_margin": _text(point.gross_margin, places),
        }
        for point in points
    ]


def _problem(problem: Problem) -> dict[str, str]:
    return {"path": problem.path, "code": problem.code, "message": problem.message}


def render_json(rows: Sequence[ReportRow], report: ValidationReport | None) -> str:
    """``{"channel", "credit_value", "policy", "rows", "errors", "warnings", "suggestions"}``."""
    document: dict[str, Any] = {"rows": list(rows)}
    if report is not None:
        document = {
            "channel": report.channel.id,
            "credit_value": str(report.channel.credit_value),
            "policy": {
                "floor": str(report.policy.floor),
                "target_min": str(report.policy.target_min),
                "target_max": None
                if report.policy.target_max is None
                else str(report.policy.target_max),
            },
            **document,
            "errors": [_problem(problem) for problem in report.errors],
            "warnings": [_problem(problem) for problem in report.warnings],
            "suggestions": [
                {
                    "path": item.path,
                    "operation": item.operation,
                    "credits": item.credits,
                    "suggested_credits": item.suggested_credits,
                    "gross_margin": str(item.gross_margin),
                    "markup": None if item.markup is None else str(item.markup),
                }
                for item in report.suggestions
            ],
        }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_csv(rows: Sequence[ReportRow]) -> str:
    """The rows as CSV with a header line (an undefined ratio is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(REPORT_KEYS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def render_table(rows: Sequence[ReportRow]) -> str:
    """The rows as an aligned text table (ratios as given; ``-`` where undefined)."""
    header = list(REPORT_KEYS)
    cells = [[("-" if row[key] is None else str(row[key])) for key in header] for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    numeric = {"cost", "credits", "revenue", "markup", "gross_margin"}

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if key in numeric else value.ljust(width)
            for key, value, width in zip(header, values, widths, strict=True)
        ).rstrip()

    return "\n".join([line(header), *(line(values) for values in cells)]) + "\n"


def render_validation(report: ValidationReport) -> str:
    """Errors, warnings and suggestions of a validation, for people."""
    basis = report.channel
    lines = [
        f"Validation on {basis.id} (1 credit = {basis.credit_value} {basis.price.currency}), "
        f"{report.policy.describe()}:"
    ]
    for title, problems in (("errors", report.errors), ("warnings", report.warnings)):
        lines.append(f"  {len(problems)} {title[:-1] if len(problems) == 1 else title}")
        lines += [f"    {p.path} [{p.code}] {p.message}" for p in problems]
    if report.suggestions:
        lines.append("  smallest charges that meet the target:")
        lines += [
            f"    {s.path} {s.operation}: {s.credits} → {s.suggested_credits} credits "
            f"(gross margin {display(s.gross_margin)}, markup {display(s.markup)})"
            for s in report.suggestions
        ]
    lines.append("  result: " + ("OK" if report.ok else "VIOLATIONS"))
    return "\n".join(lines) + "\n"
