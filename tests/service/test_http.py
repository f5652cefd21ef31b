"""The reference service over real HTTP: happy paths, every error mapping, bad input of every kind.

One uvicorn process (SQLite in a temporary folder, the example catalog, a few gigs, a Stripe
secret) serves the whole module; every test opens its own accounts.
"""

from __future__ import annotations

import itertools
import json
import math
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from creditcore.pricing import example_catalog
from tests.payments.stripe_payloads import (
    SECRET,
    checkout_completed,
    dispute_created,
    encode,
    sign,
)
from tests.service.server import Service, running_service

PROBLEM = "application/problem+json"
GIGS = [  # id, lng, lat
    ("paris", 2.3522, 48.8566),
    ("versailles", 2.1301, 48.8049),
    ("london", -0.1276, 51.5072),
    ("suva", 178.4419, -18.1416),
    ("apia", -171.7514, -13.8333),
]
_ids = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}-{time.monotonic_ns()}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    gigs = folder / "gigs.geojson"
    gigs.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": gig_id,
                        "geometry": {"type": "Point", "coordinates": [lng, lat]},
                        "properties": {"name": gig_id},
                    }
                    for gig_id, lng, lat in GIGS
                ],
            }
        )
    )
    env = {
        "CREDITCORE_DATABASE": str(folder / "ledger.sqlite3"),
        "CREDITCORE_GIGS": str(gigs),
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "CREDITCORE_THREADS": "4",
    }
    with running_service(env) as running:
        yield running


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        yield http


def no_traceback(answer: httpx.Response) -> None:
    assert "Traceback" not in answer.text
    assert 'File "' not in answer.text


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check the answer is the RFC 9457 document of ``code`` with ``status``; return it."""
    no_traceback(answer)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    document: dict[str, Any] = answer.json()
    assert document["status"] == status
    assert document["code"] == code
    assert document["type"] == f"/problems/{code}"
    assert isinstance(document["title"], str)
    assert document["title"]
    assert isinstance(document["detail"], str)
    assert document["detail"]
    return document


def open_account(
    client: httpx.Client, user: str, *, allowance: int = 0, tier: str | None = None
) -> None:
    answer = client.post(
        "/accounts", json={"user_id": user, "monthly_allowance": allowance, "tier": tier}
    )
    assert answer.status_code == 201, answer.text


def fund(client: httpx.Client, user: str, credits: int) -> None:
    answer = client.post(
        f"/accounts/{user}/purchases", json={"payment_id": fresh("pay"), "credits": credits}
    )
    assert answer.status_code == 201, answer.text


def balance(client: httpx.Client, user: str) -> dict[str, Any]:
    answer = client.get(f"/accounts/{user}/balance")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


# --- happy paths --------------------------------------------------------------------------------


def test_a_month_of_an_account_through_every_endpoint(client: httpx.Client) -> None:
    user = fresh("alice")
    open_account(client, user, allowance=150, tier="PLUS")
    assert balance(client, user)["current"] == 150
    bought = client.post(
        f"/accounts/{user}/purchases", json={"payment_id": fresh("pi"), "pack_id": "studio-pack"}
    )
    assert bought.status_code == 201
    assert bought.json()["kind"] == "purchase"
    assert (balance(client, user)["purchased"], balance(client, user)["current"]) == (500, 650)

    charged = client.post(
        f"/accounts/{user}/charges",
        json={"operation_id": "nanobanana"},
        headers={"Idempotency-Key": fresh("k")},
    )
    assert charged.status_code == 201, charged.text
    tx = charged.json()
    assert tx["credits"] == 2  # DOMAIN.md §2: NanoBanana costs 2 credits
    assert tx["metadata"]["api_cost"] == "0.038"
    assert sum(entry["delta"] for entry in tx["entries"]) == 0
    consumed = client.post(f"/accounts/{user}/consumes", json={"credits": 10})
    assert consumed.status_code == 201
    now = balance(client, user)
    assert (now["current"], now["purchased"], now["consumed_this_month"]) == (638, 488, 0)

    hold = client.post(f"/accounts/{user}/holds", json={"credits": 20, "ttl_seconds": 600})
    assert hold.status_code == 201
    hold_id = hold.json()["id"]
    assert (balance(client, user)["held"], balance(client, user)["available"]) == (20, 618)
    assert client.get(f"/holds/{hold_id}").json()["status"] == "open"
    captured = client.post(f"/holds/{hold_id}/capture", json={"credits": 15})
    assert captured.status_code == 200, captured.text
    assert client.get(f"/holds/{hold_id}").json()["captured"] == 15
    other = client.post(f"/accounts/{user}/holds", json={"credits": 7}).json()["id"]
    released = client.post(f"/holds/{other}/release")
    assert released.status_code == 200
    now = balance(client, user)
    assert (now["current"], now["held"], now["available"]) == (623, 0, 623)

    refunded = client.post(f"/transactions/{tx['id']}/refunds")
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["credits"] == 2
    assert balance(client, user)["current"] == 625

    # the journal, newest first, page by page through the opaque cursor
    seqs: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get(f"/accounts/{user}/history", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seqs += [t["seq"] for t in body["transactions"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert not cursor.isdigit()  # opaque, not a bare position
    # open, purchase, charge, consume, reserve, capture, reserve, release, refund
    assert seqs == list(range(9, 0, -1))
    assert pages == 3
    view = client.get(f"/accounts/{user}").json()
    assert view["balance"]["current"] == 625
    assert view["account"]["tier"] == "PLUS"
    verified = client.get(f"/accounts/{user}/verify").json()
    assert (verified["ok"], verified["transactions"], verified["problems"]) == (True, 9, [])


def test_the_same_idempotency_key_applies_once_and_answers_the_same(client: httpx.Client) -> None:
    user = fresh("idem")
    open_account(client, user, allowance=15, tier="FREE")
    key = fresh("key")
    first = client.post(
        f"/accounts/{user}/charges",
        json={"operation_id": "seedream-v4"},
        headers={"Idempotency-Key": key},
    )
    again = client.post(
        f"/accounts/{user}/charges",
        json={"operation_id": "seedream-v4"},
        headers={"Idempotency-Key": f'"{key}"'},  # the RFC 8941 string form of the same key
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["key"] == key
    assert balance(client, user)["current"] == 13  # charged once: 15 - 2


def test_gigs_in_a_box_and_near_a_point(client: httpx.Client) -> None:
    box = client.get("/gigs", params={"bbox": "2,48,3,49"})
    assert box.status_code == 200
    assert sorted(g["id"] for g in box.json()) == ["paris", "versailles"]
    across = client.get("/gigs", params={"bbox": "170,-20,-170,-10"})  # over the antimeridian
    assert sorted(g["id"] for g in across.json()) == ["apia", "suva"]
    near = client.get("/gigs/near", params={"lng": 2.35, "lat": 48.85, "radius_m": 30_000})
    hits = near.json()
    assert [h["gig"]["id"] for h in hits] == ["paris", "versailles"]

    def haversine(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dp, dl = p2 - p1, math.radians(lng2 - lng1)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * 6_371_008.8 * math.asin(math.sqrt(a))

    expected = haversine(2.35, 48.85, 2.1301, 48.8049)
    assert hits[1]["distance_m"] == pytest.approx(expected, rel=1e-9)


def test_the_openapi_document_carries_creditcores_schemas(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    text = json.dumps(spec)
    for member in ("current_balance", "available", "balance_after", "expires_at"):
        assert f'"{member}"' in text


# --- every error mapping ------------------------------------------------------------------------


def test_library_errors_answer_with_their_status_and_problem_document(
    client: httpx.Client,
) -> None:
    user = fresh("err")
    free = fresh("free")
    open_account(client, user, allowance=10, tier="PLUS")
    open_account(client, free, allowance=15, tier="FREE")
    spend = client.post(f"/accounts/{user}/consumes", json={"credits": 4}).json()["id"]

    problem(
        client.post("/accounts", json={"user_id": user, "monthly_allowance": 1}),
        409,
        "duplicate_id",
    )
    problem(client.get(f"/accounts/{fresh('nobody')}/balance"), 404, "unknown_account")
    problem(client.get(f"/accounts/{fresh('nobody')}/history"), 404, "unknown_account")
    problem(
        client.post(f"/accounts/{user}/charges", json={"operation_id": "no-such-op"}),
        404,
        "unknown_operation",
    )
    tier = problem(
        client.post(f"/accounts/{free}/charges", json={"operation_id": "nanobanana"}),
        403,
        "tier_not_allowed",
    )
    assert tier["context"]["required_tier"] == "PLUS"  # DOMAIN.md §2: PLUS adds NanoBanana
    poor = problem(
        client.post(f"/accounts/{user}/consumes", json={"credits": 7}),
        402,
        "insufficient_credits",
    )
    assert (poor["context"]["requested"], poor["context"]["available"]) == (7, 6)
    problem(client.post(f"/accounts/{user}/consumes", json={"credits": 0}), 422, "invalid_amount")
    problem(client.post(f"/accounts/{user}/consumes", json={"credits": -3}), 422, "invalid_amount")
    key = {"Idempotency-Key": fresh("k")}
    assert client.post(f"/accounts/{user}/consumes", json={"credits": 1}, headers=key).is_success
    problem(
        client.post(f"/accounts/{user}/consumes", json={"credits": 2}, headers=key),
        422,
        "idempotency_conflict",
    )
    assert client.post(f"/transactions/{spend}/refunds").status_code == 201
    problem(client.post(f"/transactions/{spend}/refunds"), 409, "over_refund")
    problem(client.post(f"/transactions/{fresh('tx')}/refunds"), 404, "unknown_transaction")
    hold = client.post(f"/accounts/{user}/holds", json={"credits": 2}).json()["id"]
    problem(client.post(f"/holds/{hold}/capture", json={"credits": 3}), 422, "invalid_amount")
    assert client.post(f"/holds/{hold}/release").status_code == 200
    problem(client.post(f"/holds/{hold}/release"), 409, "hold_not_active")
    problem(client.post(f"/holds/{hold}/capture"), 409, "hold_not_active")
    problem(client.get(f"/holds/{fresh('hold')}"), 404, "unknown_hold")
    problem(client.post(f"/holds/{fresh('hold')}/release"), 404, "unknown_hold")
    problem(
        client.post(f"/accounts/{user}/holds", json={"credits": 1, "ttl_seconds": 0}),
        422,
        "invalid_input",
    )
    problem(
        client.post(f"/accounts/{user}/purchases", json={"payment_id": "p", "pack_id": "nope"}),
        404,
        "unknown_channel",  # a pack is a sales channel
    )
    problem(
        client.post(f"/accounts/{user}/purchases", json={"payment_id": "p", "offer_id": "nope"}),
        404,
        "unknown_offer",
    )
    problem(client.get("/gigs", params={"bbox": "1,2,3"}), 422, "invalid_input")
    problem(client.get("/gigs", params={"bbox": "0,95,1,96"}), 422, "invalid_coordinates")
    problem(
        client.get("/gigs/near", params={"lng": 0, "lat": 0, "radius_m": -1}), 422, "invalid_input"
    )


def test_a_closed_offer_says_when_it_opens_next(client: httpx.Client) -> None:
    now = datetime.now(UTC)
    closed = [offer for offer in example_catalog().offers if not offer.is_open(now)]
    if not closed:  # both windows open at once (a weekend 15th-17th): nothing to refuse
        pytest.skip("every example offer is open right now")
    offer = closed[0]
    user = fresh("offer")
    open_account(client, user)
    document = problem(
        client.post(
            f"/accounts/{user}/purchases", json={"payment_id": fresh("pi"), "offer_id": offer.id}
        ),
        409,
        "offer_closed",
    )
    opening = datetime.fromisoformat(document["context"]["next_opening"])
    assert opening > now
    assert offer.is_open(opening)
    assert opening.utcoffset() is not None


def test_an_account_in_debt_after_a_dispute_cannot_spend(client: httpx.Client) -> None:
    user = fresh("debtor")
    open_account(client, user)
    at = int(time.time())
    payment = fresh("pi")
    body = encode(
        checkout_completed(fresh("evt"), created=at, user_id=user, payment_intent=payment)
    )
    assert client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, timestamp=at)}
    ).is_success
    assert client.post(f"/accounts/{user}/consumes", json={"credits": 500}).is_success
    body = encode(dispute_created(fresh("evt"), created=at, payment_intent=payment))
    disputed = client.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": sign(body, timestamp=at)}
    )
    assert disputed.status_code == 200, disputed.text
    assert balance(client, user)["debt"] == 500
    problem(client.post(f"/accounts/{user}/consumes", json={"credits": 1}), 402, "account_in_debt")


def test_every_problem_type_uri_describes_itself(client: httpx.Client) -> None:
    for code, status in (
        ("insufficient_credits", 402),
        ("store_error", 503),
        ("invalid_idempotency_key", 400),
    ):
        answer = client.get(f"/problems/{code}")
        assert answer.status_code == 200
        assert (answer.json()["code"], answer.json()["status"]) == (code, status)
    problem(client.get("/problems/not-a-code"), 404, "route_not_found")


# --- bad bodies and headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"credits": 5', 400, "malformed_request"),
        (b"\xff\xfe", 400, "malformed_request"),
        (b"[5]", 422, "invalid_request"),
        (b'"five"', 422, "invalid_request"),
        (b"{}", 422, "invalid_request"),
        (b'{"credits": "5"}', 422, "invalid_request"),
        (b'{"credits": 5.0}', 422, "invalid_request"),
        (b'{"credits": true}', 422, "invalid_request"),
        (b'{"credits": 5, "surprise": 1}', 422, "invalid_request"),
        (b'{"credits": 5, "metadata": {"a": [1]}}', 422, "invalid_request"),
        (b'{"credits": 100000000000000000000000}', 422, "invalid_amount"),
    ],
)
def test_bad_bodies_are_refused_as_problems(
    client: httpx.Client, content: bytes, status: int, code: str
) -> None:
    user = fresh("body")
    open_account(client, user, allowance=10)
    answer = client.post(
        f"/accounts/{user}/consumes", content=content, headers={"Content-Type": "application/json"}
    )
    document = problem(answer, status, code)
    for item in document.get("errors", []):  # where and what, never the input echoed back
        assert set(item) == {"loc", "msg"}
    assert balance(client, user)["current"] == 10


def test_a_body_that_is_not_json_media_is_refused(client: httpx.Client) -> None:
    user = fresh("form")
    open_account(client, user, allowance=10)
    answer = client.post(f"/accounts/{user}/consumes", data={"credits": "5"})
    problem(answer, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "header",
    [b"x" * 256, b"", b"two words", "caf\u00e9".encode("latin-1"), b'"'],
    ids=["too-long", "empty", "space", "non-ascii", "lone-quote"],
)
def test_bad_idempotency_keys_are_refused(client: httpx.Client, header: bytes) -> None:
    user = fresh("key")
    open_account(client, user, allowance=10)
    answer = client.post(
        f"/accounts/{user}/consumes", json={"credits": 1}, headers=[(b"Idempotency-Key", header)]
    )
    problem(answer, 400, "invalid_idempotency_key")
    assert balance(client, user)["current"] == 10


def test_bad_queries_routes_and_methods(client: httpx.Client) -> None:
    user = fresh("query")
    open_account(client, user)
    bad = problem(
        client.get(f"/accounts/{user}/history", params={"cursor": "bogus!"}), 422, "invalid_input"
    )
    assert bad["context"]["field"] == "cursor"
    problem(client.get(f"/accounts/{user}/history", params={"limit": 0}), 422, "invalid_request")
    problem(client.get(f"/accounts/{user}/history", params={"limit": "x"}), 422, "invalid_request")
    problem(
        client.get("/gigs/near", params={"lng": "east", "lat": 0, "radius_m": 1}),
        422,
        "invalid_request",
    )
    problem(client.get("/no/such/endpoint"), 404, "route_not_found")
    problem(client.get("/accounts"), 405, "method_not_allowed")


def raw_request(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1, 2"])
def test_a_bad_content_length_gets_a_400_not_a_traceback(service: Service, length: bytes) -> None:
    answer = raw_request(
        service.url,
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
        + b"\r\nConnection: close\r\n\r\n{}",
    )  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Traceback" not in answer


# --- the Stripe webhook -------------------------------------------------------------------------


def test_a_redelivered_webhook_credits_once(client: httpx.Client) -> None:
    user = fresh("buyer")
    open_account(client, user)
    at = int(time.time())
    body = encode(
        checkout_completed(fresh("evt"), created=at, user_id=user, payment_intent=fresh("pi"))
    )
    headers = {"Stripe-Signature": sign(body, timestamp=at), "Content-Type": "application/json"}
    first = client.post("/webhooks/stripe", content=body, headers=headers)
    second = client.post("/webhooks/stripe", content=body, headers=headers)
    assert (first.status_code, first.json()["code"]) == (200, "credited")
    assert (second.status_code, second.json()["code"]) == (200, "already_applied")
    assert balance(client, user)["purchased"] == 500  # DOMAIN.md §2: the Studio Pack's credits


def test_forged_and_unsigned_webhooks_are_refused_without_stripes_advice(
    client: httpx.Client,
) -> None:
    user = fresh("victim")
    open_account(client, user)
    at = int(time.time())
    body = encode(checkout_completed(fresh("evt"), created=at, user_id=user, payment_intent="pi_f"))
    forged = client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": sign(body, timestamp=at, secret="whsec_forger")},
    )
    problem(forged, 400, "signature_verification_failed")
    unsigned = client.post("/webhooks/stripe", content=body)
    document = problem(unsigned, 400, "signature_verification_failed")
    assert "without_verification" not in unsigned.text
    assert "missing" in document["detail"]
    stale = client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": sign(body, timestamp=at - 3600)},
    )
    problem(stale, 400, "signature_verification_failed")
    assert balance(client, user)["purchased"] == 0


def test_the_service_log_shows_no_unhandled_error(service: Service) -> None:
    assert "unhandled error" not in service.log_text()


def test_a_bug_in_an_endpoint_answers_500_as_a_problem(tmp_path: Path) -> None:
    from examples.service.app import create_app
    from examples.service.settings import Settings
    from fastapi.testclient import TestClient

    app = create_app(Settings(database=str(tmp_path / "l.sqlite3")))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as local:
        answer = local.get("/boom")
    document = problem(answer, 500, "internal_error")
    assert "secret internals" not in answer.text
    assert document["instance"] == "/boom"


# --- the map: tiles and the page ----------------------------------------------------------------


def test_vector_tiles_of_the_gigs_with_etags_and_the_map_page(client: httpx.Client) -> None:
    import mapbox_vector_tile

    world = client.get("/tiles/0/0/0.pbf")
    assert world.status_code == 200, world.text
    assert world.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(world.content, default_options={"y_coord_down": True})
    extent = layers["gigs"]["extent"]
    inside = [  # the tile's own area (its buffer repeats gigs across the antimeridian)
        f for f in layers["gigs"]["features"]
        if 0 <= f["geometry"]["coordinates"][0] < extent
    ]  # fmt: skip
    counted = sum(int(f["properties"].get("point_count", 1)) for f in inside)
    assert counted == len(GIGS)  # every gig once, in a cluster or alone
    same = client.get("/tiles/0/0/0.pbf", headers={"If-None-Match": world.headers["etag"]})
    assert (same.status_code, same.content) == (304, b"")
    # z1 tile 1/1 is the south-east quarter: Suva is there (lng 178, lat -18)
    assert client.get("/tiles/1/1/1.pbf").status_code == 200
    # z3 over the far north Pacific holds no gig
    assert client.get("/tiles/3/0/0.pbf").status_code == 204
    problem(client.get("/tiles/1/5/0.pbf"), 422, "invalid_tile")
    problem(client.get("/tiles/x/0/0.pbf"), 422, "invalid_request")

    view = client.get("/clusters", params={"bbox": "-180,-85,180,85", "zoom": 0}).json()
    clustered = [f for f in view["features"] if f["properties"].get("cluster")]
    assert clustered  # Paris and Versailles are one cluster at zoom 0
    cluster_id = clustered[0]["properties"]["cluster_id"]
    members = client.get(f"/leaves/{cluster_id}").json()["features"]
    assert len(members) == clustered[0]["properties"]["point_count"]
    problem(client.get("/leaves/999999"), 404, client.get("/leaves/999999").json()["code"])
    assert client.get("/config.json").json()["layer"] == "gigs"
    page = client.get("/")
    assert page.status_code == 200
    assert "maplibre" in page.text
    assert client.get("/map.js").headers["content-type"].startswith("text/javascript")
