"""The reference credit service: creditcore's ledger, pricing, payments and gigs over HTTP.

Run it (SQLite by default; PostgreSQL by setting ``CREDITCORE_DATABASE`` to a URL)::

    pip install 'creditcore[service,postgres,stripe]'
    uvicorn --factory examples.service.app:create_app --port 8000
    CREDITCORE_DATABASE=postgresql://postgres@127.0.0.1/test \\
        uvicorn --factory examples.service.app:create_app --port 8000 --workers 4

Why FastAPI rather than bare Starlette: it *is* Starlette (same routing, same ASGI stack, the
same speed class) plus what a platform team would otherwise write by hand: request bodies
checked against declared models, an OpenAPI document that carries creditcore's own JSON Schemas
(through :func:`creditcore.jsonable_type`), and synchronous endpoints run in a bounded thread pool,
which is exactly what a blocking ledger call needs.

Every endpoint is a plain ``def``: FastAPI runs it on a worker thread, so a ledger call (a
SQLite or PostgreSQL transaction) never blocks the event loop. The number of threads per process
is ``CREDITCORE_THREADS`` (default 8); with PostgreSQL the connection pool has the same size, so a
thread never waits for a connection. Every error is an RFC 9457 problem document; no traceback
ever reaches a client. See docs/service.md for the endpoints and the error table.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import creditcore
from creditcore import (
    PROBLEM_CONTENT_TYPE,
    CreditcoreError,
    InvalidInput,
    http_status,
    jsonable_type,
    problem_document,
    problem_headers,
    problem_title,
    to_jsonable,
)
from creditcore.geo import Clusterer, GigIndex, VectorTiles
from creditcore.ledger import (
    AccountView,
    Balance,
    HistoryPage,
    Hold,
    Ledger,
    LedgerStore,
    Transaction,
    VerifyReport,
)
from creditcore.payments import WebhookHandler
from creditcore.pricing import Catalog, Money, example_catalog, load_catalog

from .settings import Settings

__all__ = ["create_app"]

_log = logging.getLogger("creditcore.service")

EXAMPLES = Path(__file__).resolve().parents[1]
MAP_STATIC = EXAMPLES / "map" / "static"
MAPLIBRE = EXAMPLES / "map" / "node_modules" / "maplibre-gl" / "dist"

TYPE_BASE = "/problems/"
"""Problem ``type`` URIs are ``/problems/<code>``, and ``GET`` on one describes it."""

MAX_KEY_LENGTH = 255


def _key_char(c: str) -> bool:  # visible ASCII but the quote and the backslash
    return 33 <= ord(c) <= 126 and c not in '"\\'


# Codes of the problems the service itself answers (the library's come from the error tree).
SERVICE_PROBLEMS: dict[str, tuple[int, str]] = {
    "malformed_request": (400, "Malformed request"),
    "invalid_request": (422, "Request does not match the endpoint's model"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "invalid_idempotency_key": (400, "Invalid Idempotency-Key header"),
    "route_not_found": (404, "No such endpoint"),
    "method_not_allowed": (405, "Method not allowed"),
    "webhook_not_configured": (503, "Webhook endpoint not configured"),
    "internal_error": (500, "Internal error"),
}


# --- request bodies -------------------------------------------------------------------------------

Metadata = dict[str, str | int | bool | None]
Key = Annotated[str | None, Header(alias="Idempotency-Key")]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OpenAccount(_Body):
    """``POST /accounts``."""

    user_id: str = Field(min_length=1, max_length=200)
    monthly_allowance: int = 0
    tier: str | None = None


class ChargeBody(_Body):
    """``POST /accounts/{user_id}/charges``: one call of a catalog operation."""

    operation_id: str = Field(min_length=1)
    metadata: Metadata | None = None


class ConsumeBody(_Body):
    """``POST /accounts/{user_id}/consumes``: spend a number of credits."""

    credits: int
    metadata: Metadata | None = None


class PurchaseBody(_Body):
    """``POST /accounts/{user_id}/purchases``: book a payment (an operator's endpoint)."""

    payment_id: str = Field(min_length=1)
    credits: int | None = None
    pack_id: str | None = None
    offer_id: str | None = None
    amount: str | None = None
    currency: str = "USD"


class ReserveBody(_Body):
    """``POST /accounts/{user_id}/holds``."""

    credits: int
    ttl_seconds: int | None = None


class CaptureBody(_Body):
    """``POST /holds/{hold_id}/capture``."""

    credits: int | None = None
    metadata: Metadata | None = None


class RefundBody(_Body):
    """``POST /transactions/{transaction_id}/refunds``."""

    credits: int | None = None


# --- problems -------------------------------------------------------------------------------------


def _problem(status: int, code: str, title: str, detail: str, instance: str, **extra: Any) -> Any:
    document: dict[str, Any] = {
        "type": f"{TYPE_BASE}{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance,
    }
    document.update(extra)
    return document


def _problem_response(
    document: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(document, status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _service_problem(code: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    status, title = SERVICE_PROBLEMS[code]
    headers = {"Retry-After": "60"} if status == 503 else None
    return _problem_response(
        _problem(status, code, title, detail, instance, **extra), status, headers
    )


def _error_response(error: CreditcoreError, instance: str) -> JSONResponse:
    document = problem_document(error, instance=instance, type_base=TYPE_BASE)
    headers = problem_headers(error)
    headers.pop("Content-Type", None)
    return _problem_response(document, http_status(error), headers)


def _idempotency_key(header: str | None) -> str | None:
    """The ledger key for an ``Idempotency-Key`` header (a token, or an RFC 8941 string)."""
    if header is None:
        return None
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not all(_key_char(c) for c in key):
        raise _BadKey(header)
    return key


class _BadKey(Exception):
    def __init__(self, header: str) -> None:
        super().__init__(header)
        self.header = header


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput("bbox: four numbers, min_lng,min_lat,max_lng,max_lat", field="bbox")
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise InvalidInput(f"bbox: not four numbers: {text!r}", field="bbox") from None
    return west, south, east, north


def _static(root: Path, name: str) -> Response:
    path = (root / name).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise StarletteHTTPException(404)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix in (".js", ".mjs"):
        kind = "text/javascript"
    return Response(path.read_bytes(), 200, media_type=kind)


# --- the app --------------------------------------------------------------------------------------


def _open_store(settings: Settings) -> tuple[LedgerStore, Callable[[], None]]:
    if settings.postgres:
        from psycopg_pool import ConnectionPool

        from creditcore.stores.postgres import PostgresStore

        pool: ConnectionPool[Any] = ConnectionPool(
            settings.database,
            min_size=1,
            max_size=settings.threads,
            kwargs={"autocommit": True},
            open=True,
        )
        try:
            pg = PostgresStore(pool, schema=settings.pg_schema)
        except BaseException:
            pool.close()
            raise

        def close_pg() -> None:
            pg.close()
            pool.close()

        return pg, close_pg
    from creditcore.stores.sqlite import SQLiteStore

    sqlite = SQLiteStore(settings.database)
    return sqlite, sqlite.close


def _webhook_handler(settings: Settings, ledger: Ledger, catalog: Catalog) -> WebhookHandler | None:
    if not settings.stripe_secret:
        return None
    from creditcore.payments.stripe import StripeSource

    return WebhookHandler(StripeSource(settings.stripe_secret), ledger, catalog)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service (uvicorn calls it once per worker process with ``--factory``)."""
    config = settings if settings is not None else Settings.from_env()
    catalog = load_catalog(config.catalog_path) if config.catalog_path else example_catalog()
    store, close_store = _open_store(config)
    ledger = Ledger(store)
    webhooks = _webhook_handler(config, ledger, catalog)
    if config.gigs_path:
        import json

        gigs = GigIndex.from_geojson(json.loads(Path(config.gigs_path).read_text("utf-8")))
    else:
        gigs = GigIndex()
    features = gigs.to_geojson()["features"]
    clusterer = Clusterer(max_zoom=16).load(features)
    tiles = VectorTiles(clusterer, layer="gigs")
    lngs = [f["geometry"]["coordinates"][0] for f in features] or [0.0]
    lats = [f["geometry"]["coordinates"][1] for f in features] or [0.0]
    map_view = {
        "center": [sum(lngs) / len(lngs), sum(lats) / len(lats)],
        "zoom": 2 if len(features) > 1 else 10,
        "maxzoom": clusterer.max_zoom + 1,
        "layer": "gigs",
    }

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # blocking ledger calls run on this many threads; PostgreSQL has as many connections
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        try:
            yield
        finally:
            close_store()

    app = FastAPI(
        title="creditcore reference service",
        version=creditcore.__version__,
        lifespan=lifespan,
        debug=False,
    )
    app.state.ledger = ledger
    app.state.settings = config

    # --- errors: every one a problem document --------------------------------------------------

    @app.exception_handler(CreditcoreError)
    async def on_creditcore_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, CreditcoreError)
        if http_status(error) >= 500:
            _log.warning("%s %s: %s", request.method, request.url.path, error.message)
        return _error_response(error, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        path = request.url.path
        problems = [
            {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
            for item in error.errors()
        ]
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and media not in ("", "application/json"):
            return _service_problem(
                "unsupported_media_type", f"bodies are application/json, not {media}", path
            )
        malformed = any(item.get("type") == "json_invalid" for item in error.errors())
        if malformed:
            return _service_problem(
                "malformed_request", "the body is not JSON", request.url.path, errors=problems
            )
        detail = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems)
        return _service_problem("invalid_request", detail, request.url.path, errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        path = request.url.path
        if error.status_code == 404:
            return _service_problem("route_not_found", f"no endpoint at {path}", path)
        if error.status_code == 405:
            return _service_problem(
                "method_not_allowed", f"{request.method} is not allowed on {path}", path
            )
        phrase = HTTPStatus(error.status_code).phrase
        code = phrase.lower().replace(" ", "_")
        document = _problem(error.status_code, code, phrase, str(error.detail), path)
        return _problem_response(document, error.status_code)

    @app.exception_handler(_BadKey)
    async def on_bad_key(request: Request, error: Exception) -> Response:
        return _service_problem(
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
            'other than " and \\',
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def on_bug(request: Request, error: Exception) -> Response:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _service_problem(
            "internal_error", "the service failed; it is logged", request.url.path
        )

    # --- accounts ---------------------------------------------------------------------------

    @app.post("/accounts", status_code=201, response_model=jsonable_type(Transaction))
    def open_account(body: OpenAccount) -> Transaction:
        """Open an account and issue this month's allowance."""
        return ledger.open_account(
            body.user_id, monthly_allowance=body.monthly_allowance, tier=body.tier
        )

    @app.get("/accounts/{user_id}", response_model=jsonable_type(AccountView))
    def account(user_id: str) -> AccountView:
        """The account record, its balance, open lots and open holds."""
        return ledger.account(user_id)

    @app.get("/accounts/{user_id}/balance", response_model=jsonable_type(Balance))
    def balance(user_id: str) -> Balance:
        """The balance now."""
        return ledger.balance(user_id)

    @app.get("/accounts/{user_id}/history", response_model=jsonable_type(HistoryPage))
    def history(
        user_id: str,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> HistoryPage:
        """The journal newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
        return ledger.history(user_id, limit=limit, cursor=cursor)

    @app.get("/accounts/{user_id}/verify", response_model=jsonable_type(VerifyReport))
    def verify(user_id: str) -> VerifyReport:
        """Replay the account's journal against its stored state."""
        return ledger.verify(user_id)

    # --- spending -----------------------------------------------------------------------------

    @app.post(
        "/accounts/{user_id}/charges", status_code=201, response_model=jsonable_type(Transaction)
    )
    def charge(user_id: str, body: ChargeBody, idempotency_key: Key = None) -> Transaction:
        """Charge one call of a catalog operation (tier-gated)."""
        return ledger.charge(
            user_id,
            body.operation_id,
            catalog=catalog,
            key=_idempotency_key(idempotency_key),
            metadata=body.metadata,
        )

    @app.post(
        "/accounts/{user_id}/consumes", status_code=201, response_model=jsonable_type(Transaction)
    )
    def consume(user_id: str, body: ConsumeBody, idempotency_key: Key = None) -> Transaction:
        """Spend a number of credits."""
        return ledger.consume(
            user_id, body.credits, key=_idempotency_key(idempotency_key), metadata=body.metadata
        )

    @app.post(
        "/accounts/{user_id}/purchases", status_code=201, response_model=jsonable_type(Transaction)
    )
    def purchase(user_id: str, body: PurchaseBody, idempotency_key: Key = None) -> Transaction:
        """Book a payment: a pack, an offer (inside its window) or a number of credits."""
        key = _idempotency_key(idempotency_key)
        amount = None
        if body.amount is not None:
            try:
                amount = Money(Decimal(body.amount), body.currency)
            except InvalidOperation:
                raise InvalidInput(
                    f"amount: not a decimal number: {body.amount!r}", field="amount"
                ) from None
        if body.pack_id is not None:
            pack = catalog.pack(body.pack_id)
            return ledger.purchase(
                user_id, pack.credits, payment_id=body.payment_id,
                amount=amount if amount is not None else pack.price, pack=pack, catalog=catalog,
                key=key,
            )  # fmt: skip
        if body.offer_id is not None:
            offer = catalog.offer(body.offer_id)
            return ledger.purchase(
                user_id, offer.credits, payment_id=body.payment_id, kind="lootbox", offer=offer,
                amount=amount if amount is not None else offer.price, catalog=catalog, key=key,
            )  # fmt: skip
        if body.credits is None:
            raise InvalidInput("give pack_id, offer_id or credits", field="credits")
        return ledger.purchase(
            user_id, body.credits, payment_id=body.payment_id, amount=amount, key=key
        )

    # --- holds --------------------------------------------------------------------------------

    @app.post("/accounts/{user_id}/holds", status_code=201, response_model=jsonable_type(Hold))
    def reserve(user_id: str, body: ReserveBody, idempotency_key: Key = None) -> Hold:
        """Set credits aside for a job (default 15 minutes)."""
        ttl = None
        if body.ttl_seconds is not None:
            if not 0 < body.ttl_seconds <= 31 * 86400:
                raise InvalidInput(
                    f"ttl_seconds: must be 1..{31 * 86400}, got {body.ttl_seconds}",
                    field="ttl_seconds",
                    value=body.ttl_seconds,
                )
            ttl = timedelta(seconds=body.ttl_seconds)
        return ledger.reserve(user_id, body.credits, ttl=ttl, key=_idempotency_key(idempotency_key))

    @app.get("/holds/{hold_id}", response_model=jsonable_type(Hold))
    def hold(hold_id: str) -> Hold:
        """A hold as stored."""
        return ledger.hold(hold_id)

    @app.post("/holds/{hold_id}/capture", response_model=jsonable_type(Transaction))
    def capture(
        hold_id: str, body: CaptureBody | None = None, idempotency_key: Key = None
    ) -> Transaction:
        """Spend all or part of a hold; the rest is released."""
        given = body if body is not None else CaptureBody()
        return ledger.capture(
            hold_id, given.credits, key=_idempotency_key(idempotency_key), metadata=given.metadata
        )

    @app.post("/holds/{hold_id}/release", response_model=jsonable_type(Transaction))
    def release(hold_id: str, idempotency_key: Key = None) -> Transaction:
        """Give a hold's credits back without spending them."""
        return ledger.release(hold_id, key=_idempotency_key(idempotency_key))

    # --- refunds ------------------------------------------------------------------------------

    @app.post(
        "/transactions/{transaction_id}/refunds",
        status_code=201,
        response_model=jsonable_type(Transaction),
    )
    def refund(
        transaction_id: str, body: RefundBody | None = None, idempotency_key: Key = None
    ) -> Transaction:
        """Give back (part of) a consumption: a charge, a consume or a capture."""
        given = body if body is not None else RefundBody()
        return ledger.refund(transaction_id, given.credits, key=_idempotency_key(idempotency_key))

    # --- payments -----------------------------------------------------------------------------

    @app.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> Response:
        """Stripe's webhook: signature checked, answered with the handler's status table."""
        if webhooks is None:
            return _service_problem(
                "webhook_not_configured", "STRIPE_WEBHOOK_SECRET is not set", request.url.path
            )
        payload = await request.body()  # the raw bytes: the signature covers them
        signature = request.headers.get("stripe-signature")
        result = await run_in_threadpool(webhooks.handle_webhook, payload, signature)
        if result.ok:
            return Response(result.body(), result.status, media_type="application/json")
        title = HTTPStatus(result.status).phrase
        document = _problem(
            result.status, result.code, title, result.message, request.url.path,
            **({"event_id": result.event_id} if result.event_id else {}),
        )  # fmt: skip
        headers = {"Retry-After": "1"} if result.status == 503 else None
        return _problem_response(document, result.status, headers)

    # --- gigs ---------------------------------------------------------------------------------

    @app.get("/gigs")
    def gigs_in_box(
        bbox: Annotated[str, Query(description="min_lng,min_lat,max_lng,max_lat")],
        limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    ) -> JSONResponse:
        """Gigs in a box (west > east crosses the antimeridian)."""
        west, south, east, north = _bbox(bbox)
        found = gigs.in_bbox(west, south, east, north, limit=limit)  # thread-safe (docs/geo.md)
        return JSONResponse(to_jsonable(found))

    @app.get("/gigs/near")
    def gigs_near(
        lng: float,
        lat: float,
        radius_m: float,
        limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    ) -> JSONResponse:
        """Gigs within ``radius_m`` metres of a point, nearest first, with their distances."""
        hits = gigs.near(lng, lat, radius_m, limit=limit)
        return JSONResponse(to_jsonable(hits))

    # --- the map: vector tiles of the gigs' clusters, and the MapLibre page ------------------

    @app.get("/tiles/{z}/{x}/{y}.pbf")
    def tile(
        z: int, x: int, y: int, if_none_match: Annotated[str | None, Header()] = None
    ) -> Response:
        """A Mapbox Vector Tile of the clusters (204 when empty, 304 on a matching ETag)."""
        answer = tiles(z, x, y, if_none_match=if_none_match)
        headers = dict(answer.headers)
        headers.pop("Content-Length", None)  # Starlette sets it from the body
        return Response(answer.body, answer.status, headers)

    @app.get("/leaves/{cluster_id}")
    def leaves(
        cluster_id: int,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> JSONResponse:
        """A cluster's gigs as a GeoJSON FeatureCollection."""
        features = clusterer.get_leaves(cluster_id, limit=limit, offset=offset)
        return JSONResponse({"type": "FeatureCollection", "features": features})

    @app.get("/clusters")
    def clusters(
        bbox: Annotated[str, Query(description="min_lng,min_lat,max_lng,max_lat")], zoom: float
    ) -> JSONResponse:
        """The clusters of a view as a GeoJSON FeatureCollection."""
        return JSONResponse(clusterer.viewport(_bbox(bbox), zoom))

    @app.get("/config.json")
    def map_config() -> dict[str, Any]:
        """The map page's start view."""
        return map_view

    @app.get("/")
    def map_page() -> Response:
        """The MapLibre page of examples/map (its static files and MapLibre from npm)."""
        return _static(MAP_STATIC, "index.html")

    @app.get("/maplibre/{name}")
    def maplibre(name: str) -> Response:
        """MapLibre GL JS's own files (``npm install`` in examples/map brings them)."""
        return _static(MAPLIBRE, name)

    @app.get("/map.js")
    def map_script() -> Response:
        """The page's script."""
        return _static(MAP_STATIC, "map.js")

    @app.get("/style.css")
    def map_style() -> Response:
        """The page's style sheet."""
        return _static(MAP_STATIC, "style.css")

    # --- the problem types, and health --------------------------------------------------------

    @app.get("/problems/{code}")
    def problem_type(code: str) -> JSONResponse:
        """What a problem ``type`` means: its code, title and status."""
        if code in SERVICE_PROBLEMS:
            status, title = SERVICE_PROBLEMS[code]
            return JSONResponse({"code": code, "title": title, "status": status})
        for name in creditcore.__all__:
            cls = getattr(creditcore, name)
            if isinstance(cls, type) and issubclass(cls, CreditcoreError) and cls.code == code:
                doc = (cls.__doc__ or "").strip()
                return JSONResponse(
                    {
                        "code": code,
                        "title": problem_title(cls),
                        "status": http_status(cls),
                        "description": doc,
                    }
                )
        raise StarletteHTTPException(404)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "store": "postgresql" if config.postgres else "sqlite"}

    app.state.catalog = catalog
    return app
