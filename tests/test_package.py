"""The package's public surface: curated exports and the exception tree."""

from __future__ import annotations

import importlib
import inspect
import multiprocessing
import pickle
import sys
import typing
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import creditcore
from creditcore import _exceptions, _problems, _wire

PUBLIC_FACES = (
    "creditcore",
    "creditcore.cli",
    "creditcore.economics",
    "creditcore.geo",
    "creditcore.ledger",
    "creditcore.payments",
    "creditcore.payments.stripe",
    "creditcore.pricing",
    "creditcore.stores",
    "creditcore.stores.memory",
    "creditcore.stores.sqlite",
    "creditcore.stores.postgres",
    "creditcore.stores.postgis",
)
"""Every module a user imports; everything else under creditcore has a private path."""


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
    assert error.problems[0].path == "operations[0].api_cost"
    assert error.problems[0].code == "negative"
    assert "\n" not in str(error)
    assert "operations[0].api_cost: must be ≥ 0, got -1" in str(error)
    assert "tiers[1]: y" in str(error)


# --- public names report their public module -------------------------------------------------


def _face(name: str) -> ModuleType:
    if name == "creditcore.stores.postgres":
        pytest.importorskip("psycopg")
    return importlib.import_module(name)


@pytest.mark.parametrize("face", PUBLIC_FACES)
def test_every_exported_class_and_function_names_a_public_module(face: str) -> None:
    module = _face(face)
    checked = 0
    for name in module.__all__:
        value = getattr(module, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        owner = value.__module__
        if not owner.startswith("creditcore"):
            continue  # a re-exported outside name keeps its own module
        checked += 1
        assert owner in PUBLIC_FACES, f"{face}.{name} reports the private module {owner}"
        # The module it names really exports it under that name, so a pickle, an import path
        # copied from a repr and a documentation link all resolve.
        home = sys.modules[owner]
        assert name in home.__all__, f"{face}.{name}: {owner} does not export it"
        assert getattr(home, value.__qualname__) is value
        assert pickle.loads(pickle.dumps(value)) is value
    if face not in ("creditcore.stores",):
        assert checked, f"{face} exports no class or function: is the list above stale?"


def test_reprs_and_tracebacks_name_the_public_module() -> None:
    from creditcore.ledger import Ledger
    from creditcore.pricing import Catalog, Money
    from creditcore.stores.sqlite import SQLiteStore

    assert Ledger.__module__ == "creditcore.ledger"
    assert SQLiteStore.__module__ == "creditcore.stores.sqlite"
    assert Catalog.__module__ == "creditcore.pricing"
    assert creditcore.InvalidCatalog.__module__ == "creditcore"
    assert "creditcore.pricing.Money" in repr(Money)
    assert "_pricing" not in repr(Money)


# --- every exception pickles -----------------------------------------------------------------

_EXCEPTIONS = [getattr(_exceptions, name) for name in _exceptions.__all__]

_context_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=3).map(tuple),
)
_problem_lists = st.lists(
    st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=8), st.text(max_size=20)),
    max_size=3,
)


def _make(cls: type[creditcore.CreditcoreError], message: str, context: dict[str, Any]) -> Any:
    if cls is creditcore.InvalidCatalog:
        problems = context.pop("_problems")
        return cls(problems, source=context.get("source"))
    return cls(message, **context)


def _same(left: Any, right: Any) -> None:
    assert type(left) is type(right)
    assert str(left) == str(right)
    assert left.args == right.args
    assert left.code == right.code
    assert dict(left.context) == dict(right.context)
    assert vars(left) == vars(right)


@settings(max_examples=100)  # ~30 draws per class: pickling has no deeper states to reach
@given(
    cls=st.sampled_from(_EXCEPTIONS),
    message=st.text(max_size=40),
    context=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), _context_values),
    problems=_problem_lists,
    protocol=st.integers(min_value=2, max_value=pickle.HIGHEST_PROTOCOL),
)
def test_every_exception_survives_a_pickle_round_trip(
    cls: type[creditcore.CreditcoreError],
    message: str,
    context: dict[str, Any],
    problems: list[tuple[str, str, str]],
    protocol: int,
) -> None:
    context.pop("message", None)  # the constructor's own parameter name
    error = _make(cls, message, {**context, "_problems": problems})
    again = pickle.loads(pickle.dumps(error, protocol=protocol))
    _same(error, again)
    if isinstance(error, creditcore.InvalidCatalog):
        assert again.problems == error.problems
        assert again.source == error.source


def _raise_invalid_catalog(source: str) -> None:
    raise creditcore.InvalidCatalog(
        [("operations[0].credits", "too_small", "must be ≥ 1, got 0"), ("", "x", "y")],
        source=source,
    )


def _raise_insufficient(requested: int) -> None:
    raise creditcore.InsufficientCredits(
        f"credits: requested {requested}", requested=requested, available=Decimal(3)
    )


def test_errors_raised_in_a_worker_process_arrive_whole() -> None:
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        with pytest.raises(creditcore.InvalidCatalog) as caught:
            pool.submit(_raise_invalid_catalog, "c.toml").result(timeout=60)
        with pytest.raises(creditcore.InsufficientCredits) as short:
            pool.submit(_raise_insufficient, 7).result(timeout=60)
    assert caught.value.source == "c.toml"
    assert [(p.path, p.code) for p in caught.value.problems] == [
        ("operations[0].credits", "too_small"),
        ("(document)", "x"),
    ]
    assert short.value.context == {"requested": 7, "available": Decimal(3)}
    assert str(short.value) == "credits: requested 7"


def test_conflicts_follow_the_builtin_mixin_rule() -> None:
    # One builtin per branch, inherited by every leaf; no leaf adds its own.
    assert issubclass(creditcore.IdempotencyConflict, ValueError)
    assert issubclass(creditcore.DuplicateId, ValueError)
    for cls in _EXCEPTIONS:
        if cls is creditcore.CreditcoreError:
            continue
        own = [base for base in cls.__bases__ if not issubclass(base, creditcore.CreditcoreError)]
        if own:
            assert cls.__bases__[0] is creditcore.CreditcoreError, (
                f"{cls.__name__} mixes in {own} below a branch"
            )


@pytest.mark.parametrize("face", PUBLIC_FACES)
def test_type_hints_of_renamed_classes_still_resolve(face: str) -> None:
    # get_type_hints (pydantic, FastAPI, hypothesis) looks names up in the module a class
    # reports; the public face need not import what the private module's annotations name.
    module = _face(face)
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) and value.__module__ == face:
            typing.get_type_hints(value)
            for member in vars(value).values():
                if isinstance(member, property) and member.fget is not None:
                    typing.get_type_hints(member.fget)
