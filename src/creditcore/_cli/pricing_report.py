"""The pricing report as rows, and as a table, JSON or CSV: what ``creditcore pricing`` prints."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from creditcore._pricing.catalog import Catalog
from creditcore._pricing.channels import PricePoint, price_point
from creditcore._pricing.exact import display, quantize, terminates, to_decimal
from creditcore._pricing.problem import Problem
from creditcore._pricing.validation import ValidationReport

__all__ = [
    "REPORT_KEYS",
    "ReportRow",
    "exact_text",
    "github_annotation",
    "problem_record",
    "render_csv",
    "render_json",
    "render_table",
    "render_validation",
    "report_rows",
    "validation_document",
]

REPORT_KEYS = ("operation", "channel", "cost", "credits", "revenue", "markup", "gross_margin")
"""Keys of a report row, in column order."""

ReportRow = dict[str, str | int | None]
"""One report row: decimals as strings, credits as an int, ``None`` for an undefined ratio."""


def exact_text(value: Fraction) -> str:
    """A ratio exactly: its decimal form when it terminates (``0.325``), else ``1/19``."""
    return str(to_decimal(value)) if terminates(value) else f"{value.numerator}/{value.denominator}"


def _text(value: Fraction | None, places: int | None) -> str | None:
    if value is None:
        return None
    if places is None:
        return exact_text(value)
    return str(quantize(to_decimal(value), places))


def report_rows(
    catalog: Catalog, *, channel: str | None = None, places: int | None = None
) -> list[ReportRow]:
    """One row per operation on the basis channel, or on every channel when ``channel="all"``.

    Args:
        catalog: The catalog.
        channel: A channel id, ``"all"``, or ``None`` for the lowest paid credit value.
        places: Round ratios to this many decimals (half-even); ``None`` prints them exactly
            (a decimal when it terminates, else a fraction such as ``1/19``).
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
            "markup": _text(point.exact_markup, places),
            "gross_margin": _text(point.exact_gross_margin, places),
        }
        for point in points
    ]


def problem_record(problem: Problem) -> dict[str, str | int | None]:
    """A problem as JSON: ``{"path", "code", "message", "severity", "line"}`` (one shape for
    loader problems and validation findings)."""
    return {
        "path": problem.path,
        "code": problem.code,
        "message": problem.message,
        "severity": problem.severity,
        "line": problem.line,
    }


def _escape(text: str, *, property: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def github_annotation(problem: Problem, file: str) -> str:
    """One GitHub Actions workflow command: ``::error file=F,line=L,title=CODE::PATH: MESSAGE``."""
    level = "error" if problem.severity == "error" else "warning"
    properties = [f"file={_escape(file, property=True)}"]
    if problem.line is not None:
        properties.append(f"line={problem.line}")
    properties.append(f"title={_escape(problem.code, property=True)}")
    return f"::{level} {','.join(properties)}::{_escape(f'{problem.path}: {problem.message}')}"


def validation_document(report: ValidationReport) -> dict[str, Any]:
    """A validation as JSON: channel, credit value, policy, errors, warnings, suggestions, ok."""
    return {
        "channel": report.channel.id,
        "credit_value": str(report.channel.credit_value),
        "policy": {
            "floor": str(report.policy.floor),
            "target_min": str(report.policy.target_min),
            "target_max": None
            if report.policy.target_max is None
            else str(report.policy.target_max),
        },
        "ok": report.ok,
        "errors": [problem_record(problem) for problem in report.errors],
        "warnings": [problem_record(problem) for problem in report.warnings],
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


def render_json(rows: Sequence[ReportRow], report: ValidationReport | None) -> str:
    """``{"channel", "credit_value", "policy", "rows", "ok", "errors", "warnings", "suggestions"}``."""
    document: dict[str, Any] = {"rows": list(rows)}
    if report is not None:
        validation = validation_document(report)
        head = {key: validation.pop(key) for key in ("channel", "credit_value", "policy")}
        document = {**head, **document, **validation}
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
