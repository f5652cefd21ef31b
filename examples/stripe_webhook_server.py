"""A Stripe webhook endpoint on the standard library's ``http.server``, over a SQLite ledger.

Run it (the secret comes from the Stripe dashboard, or from ``stripe listen``)::

    export STRIPE_WEBHOOK_SECRET=whsec_...
    python examples/stripe_webhook_server.py --db credits.sqlite3 --open-account user-1
    stripe listen --forward-to localhost:8000/webhooks/stripe      # in another terminal
    stripe trigger checkout.session.completed \\
        --add checkout_session:client_reference_id=user-1 \\
        --add checkout_session:metadata.pack_id=studio-pack

Every delivery is answered with the status :class:`creditcore.payments.WebhookHandler` chose;
Stripe retries the non-2xx ones. ``http.server`` is fine for a demo and for tests; in production
mount the same handler in your web framework (see docs/payments.md).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from creditcore import DuplicateId
from creditcore.ledger import Ledger
from creditcore.payments import WebhookHandler
from creditcore.payments.stripe import StripeSource
from creditcore.pricing import example_catalog
from creditcore.stores.sqlite import SQLiteStore

PATH = "/webhooks/stripe"
MAX_BODY = 1 << 20  # Stripe events are a few KiB; refuse anything absurd before reading it
SECRET_ENV = "STRIPE_WEBHOOK_SECRET"


def _content_length(values: list[str]) -> int | None:
    """The one ``Content-Length`` of a request, or ``None`` when absent, repeated or not a number."""
    if len(values) != 1:
        return None
    text = values[0].strip()
    return int(text) if text.isascii() and text.isdigit() else None


def make_server(
    handler: WebhookHandler, host: str = "127.0.0.1", port: int = 8000
) -> ThreadingHTTPServer:
    """An HTTP server that answers ``POST /webhooks/stripe`` with ``handler``.

    Args:
        handler: The framework-free webhook handler to mount.
        host: Interface to listen on.
        port: Port to listen on (0: any free port; read ``server.server_address``).
    """

    class StripeWebhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                self._post()
            except Exception:  # a bug: log it here, answer without the traceback
                logging.getLogger("stripe_webhook_server").exception("webhook failed")
                self._answer(500, b'{"code": "internal_error"}')

        def _post(self) -> None:
            if self.path != PATH:
                self._answer(404, b'{"code": "not_found"}')
                return
            length = _content_length(self.headers.get_all("Content-Length") or [])
            if length is None or length <= 0 or length > MAX_BODY:
                too_big = length is not None and length > MAX_BODY
                self._answer(413 if too_big else 400, b'{"code": "bad_length"}')
                return
            payload = self.rfile.read(length)  # the raw bytes: the signature covers them
            result = handler.handle_webhook(payload, self.headers.get("Stripe-Signature"))
            self._answer(result.status, result.body())

        def do_GET(self) -> None:
            self._answer(405, b'{"code": "method_not_allowed"}')

        def _answer(self, status: int, body: bytes) -> None:
            if status >= 400:
                self.close_connection = True  # an unread body must not be taken for a request
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logging.getLogger("stripe_webhook_server").info(format, *args)

    return ThreadingHTTPServer((host, port), StripeWebhook)


def build(argv: Sequence[str] | None = None) -> tuple[ThreadingHTTPServer, SQLiteStore]:
    """Parse arguments, open the ledger, and make the server (not started yet)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="creditcore.sqlite3", help="SQLite ledger file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--open-account",
        action="append",
        default=[],
        metavar="USER",
        help="open this ledger account (0 monthly credits) if missing; repeatable",
    )
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        parser.error(f"set {SECRET_ENV} to the endpoint's signing secret (whsec_...)")
    store = SQLiteStore(args.db)
    ledger = Ledger(store)
    for user in args.open_account:
        with contextlib.suppress(DuplicateId):
            ledger.open_account(user, monthly_allowance=0)
    handler = WebhookHandler(StripeSource(secret), ledger, example_catalog())
    return make_server(handler, args.host, args.port), store


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server, store = build(argv)
    host, port = server.server_address[:2]
    print(f"listening on http://{host!s}:{port}{PATH}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
