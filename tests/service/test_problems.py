"""Every CreditcoreError as an HTTP status and an RFC 9457 problem document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

import creditcore
from creditcore import (
    CreditcoreError,
    http_status,
    problem_document,
    problem_headers,
    problem_title,
)
from creditcore import _exceptions as exceptions
from creditcore.ledger import InMemoryStore, Ledger, ManualClock
from creditcore.pricing import example_catalog

# The table of docs/service.md, written out by hand: the oracle for the mapping.
EXPECTED = {
    "CreditcoreError": 500,
    "InvalidInput": 422,
    "InvalidAmount": 422,
    "InvalidMoney": 422,
    "NaiveDatetime": 422,
    "InvalidCatalog": 422,
    "InvalidCoordinates": 422,
    "InvalidFeature": 422,
    "NotFound": 404,
    "UnknownOperation": 404,
    "UnknownTier": 404,
    "UnknownOffer": 404,
    "UnknownChannel": 404,
    "UnknownAccount": 404,
    "UnknownTransaction": 404,
    "UnknownHold": 404,
    "UnknownGig": 404,
    "UnknownCluster": 404,
    "Conflict": 409,
    "DuplicateId": 409,
    "IdempotencyConflict": 422,
    "LedgerRuleViolation": 422,
    "InsufficientCredits": 402,
    "OverRefund": 409,
    "TierNotAllowed": 403,
    "OfferClosed": 409,
    "HoldNotActive": 409,
    "AccountInDebt": 402,
    "StoreError": 503,
    "SchemaVersionError": 500,
    "PaymentError": 422,
    "SignatureVerificationError": 400,
}

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday: the weekend sale is closed


def classes() -> list[type[CreditcoreError]]:
    found = [getattr(exceptions, name) for name in exceptions.__all__]
    return [cls for cls in found if isinstance(cls, type) and issubclass(cls, CreditcoreError)]


@pytest.mark.parametrize("cls", classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_a_status_a_title_and_a_document(
    cls: type[CreditcoreError],
) -> None:
    status = http_status(cls)
    if cls.__name__ in EXPECTED:
        assert status == EXPECTED[cls.__name__]
    else:  # a leaf added later answers like its category
        parent = next(k for k in cls.__mro__[1:] if k.__name__ in EXPECTED)
        assert status == EXPECTED[parent.__name__]
    assert 400 <= status < 600
    assert problem_title(cls)
    error = cls.__new__(cls)
    CreditcoreError.__init__(error, f"{cls.__name__} happened", thing="x")
    document = problem_document(error, instance="/accounts/u1")
    assert json.loads(json.dumps(document)) == document
    assert document == {
        "type": f"urn:creditcore:problem:{cls.code}",
        "title": problem_title(cls),
        "status": status,
        "detail": f"{cls.__name__} happened",
        "code": cls.code,
        "context": {"thing": "x"},
        "instance": "/accounts/u1",
    }


def test_titles_are_constant_per_kind_and_never_the_message() -> None:
    one = creditcore.InsufficientCredits("cannot take 5", requested=5, available=3)
    two = creditcore.InsufficientCredits("cannot take 9", requested=9, available=0)
    assert problem_document(one)["title"] == problem_document(two)["title"]
    assert problem_document(one)["title"] == "Insufficient credits"


def test_only_store_errors_ask_for_a_retry() -> None:
    store = problem_headers(creditcore.StoreError("database is locked"))
    assert store == {"Content-Type": "application/problem+json", "Retry-After": "1"}
    for error in (
        creditcore.SchemaVersionError("schema 9 is newer"),
        creditcore.InsufficientCredits("no"),
        creditcore.UnknownAccount("no"),
    ):
        assert "Retry-After" not in problem_headers(error)


def ledger() -> Ledger:
    book = Ledger(InMemoryStore(), clock=ManualClock(NOW))
    book.open_account("free", monthly_allowance=15, tier="FREE")
    return book


def test_insufficient_credits_tells_what_was_asked_and_what_is_there() -> None:
    with pytest.raises(CreditcoreError) as caught:
        ledger().consume("free", 16)
    document = problem_document(caught.value)
    assert (document["status"], document["code"]) == (402, "insufficient_credits")
    assert document["context"] == {"requested": 16, "available": 15, "user_id": "free"}


def test_tier_required_names_the_lowest_tier_that_unlocks() -> None:
    # DOMAIN.md §2: FREE has Seedream and Seedance; PLUS adds NanoBanana
    with pytest.raises(CreditcoreError) as caught:
        ledger().charge("free", "nanobanana", catalog=example_catalog())
    document = problem_document(caught.value)
    assert (document["status"], document["title"]) == (403, "Tier required")
    context = document["context"]
    assert isinstance(context, dict)
    assert context["required_tier"] == "PLUS"
    assert context["tier"] == "FREE"


def test_offer_closed_says_when_it_opens_next() -> None:
    book = ledger()
    catalog = example_catalog()
    offer = next(o for o in catalog.offers if o.id == "weekend-flash-sale")
    with pytest.raises(CreditcoreError) as caught:
        book.purchase(
            "free",
            offer.credits,
            offer=offer,
            payment_id="pi_x",
            kind="lootbox",
            amount=offer.price,
        )
    document = problem_document(caught.value)
    assert (document["status"], document["code"]) == (409, "offer_closed")
    context = document["context"]
    assert isinstance(context, dict)
    # the Weekend Flash Sale opens Friday 18:00 New York time: 2026-11-27T18:00-05:00
    opening = datetime.fromisoformat(str(context["next_opening"]))
    assert opening == datetime.fromisoformat("2026-11-27T18:00:00-05:00")


def test_a_context_value_without_a_json_form_is_named_by_type_not_repr() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return "password=hunter2"

    document = problem_document(creditcore.InvalidInput("bad store", value=Secretive()))
    assert document["context"] == {"value": "Secretive"}
    assert "hunter2" not in json.dumps(document)


def test_a_custom_type_base_prefixes_the_code() -> None:
    document = problem_document(creditcore.UnknownHold("no hold"), type_base="/problems/")
    assert document["type"] == "/problems/unknown_hold"
