"""The package's public surface: curated exports and the exception tree."""

from __future__ import annotations

import inspect

import pytest

import creditcore
from creditcore import _exceptions, _problems, _wire


def test_package_exports_exactly_the_exception_tree_and_version() -> None:
    declared = set(_exceptions.__all__)
    wire = set(_wire.__all__) | set(_problems.__all__)  # the wire forms (docs/service.md)
    exported = set(creditcore.__all__) - {"__version__"} - wire
    assert exported == declared
    for name in creditcore.__all__:
        assert hasattr(creditcore, name), name


def test_every_exception_descends_from_the_root_and_has_its_own_code() -> None:
    codes: dict[str, str] = {}
    for name in _exceptions.__all__:
        cls = getattr(_exceptions, name)
        assert inspect.isclass(cls)
        assert issubclass(cls, creditcore.CreditcoreError), name
        assert cls.code not in codes, f"{name} reuses the code of {codes.get(cls.code)}"
        codes[cls.code] = name


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (creditcore.InvalidAmount, ValueError),
        (creditcore.InvalidCatalog, ValueError),
        (creditcore.InvalidCoordinates, ValueError),
        (creditcore.DuplicateId, ValueError),
        (creditcore.UnknownOperation, LookupError),
        (creditcore.UnknownAccount, LookupError),
        (creditcore.UnknownGig, LookupError),
    ],
)
def test_errors_also_subclass_the_builtin_they_resemble(
    cls: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(cls, builtin)


def test_errors_carry_their_context_and_print_their_message_plainly() -> None:
    error = creditcore.InsufficientCredits(
        "credits: requested 5, available 3", requested=5, available=3
    )
    assert error.context == {"requested": 5, "available": 3}
    assert str(error) == "credits: requested 5, available 3"
    lookup = creditcore.UnknownOperation("operation_id: no operation 'x'", operation_id="x")
    assert str(lookup) == "operation_id: no operation 'x'"


def test_invalid_catalog_lists_every_problem_on_one_line() -> None:
    error = creditcore.InvalidCatalog(
        [("operations[0].api_cost", "negative", "must be ≥ 0, got -1"), ("tiers[1]", "x", "y")],
        source="c.toml",
    )
    assert error.problems[0][0] == "operations[0].api_cost"
    assert "\n" not in str(error)
    assert "operations[0].api_cost: must be ≥ 0, got -1" in str(error)
    assert "tiers[1]: y" in str(error)
