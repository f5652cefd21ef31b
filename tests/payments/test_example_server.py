"""examples/stripe_webhook_server.py: the handler mounted on http.server, over loopback only."""

from __future__ import annotations

import importlib.util
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from creditcore.ledger import Ledger
from creditcore.stores.sqlite import SQLiteStore
from tests.payments.harness import Endpoint, T
from tests.payments.stripe_payloads import SECRET, checkout_completed, encode, sign

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stripe_webhook_server.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stripe_webhook_server", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def post(url: str, body: bytes, signature: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def test_the_example_server_applies_signed_events_and_refuses_forged_ones() -> None:
    endpoint = Endpoint()
    server = load_example().make_server(endpoint.handler, "127.0.0.1", 0)
    body = encode(checkout_completed("evt_1", created=T))
    with serving(server) as base:
        url = base + "/webhooks/stripe"
        assert post(url, body, sign(body, timestamp=T, secret="whsec_forger"))[0] == 400
        assert post(url, body, None)[0] == 400
        status, answer = post(url, body, sign(body, timestamp=T))
        assert (status, b'"credited"' in answer) == (200, True)
        assert post(url, body, sign(body, timestamp=T))[0] == 200
        assert post(base + "/elsewhere", body, sign(body, timestamp=T))[0] == 404
    assert endpoint.purchased() == 500


def test_the_example_wires_sqlite_the_env_secret_and_the_example_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_example()
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit):
        example.build(["--port", "0"])
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    db = tmp_path / "ledger.sqlite3"
    server, store = example.build(["--db", str(db), "--port", "0", "--open-account", "user-1"])
    body = encode(checkout_completed("evt_1", created=T))
    now = int(time.time())  # the example verifies against the real clock
    try:
        with serving(server) as base:
            status, _ = post(base + "/webhooks/stripe", body, sign(body, timestamp=now))
        assert status == 200
    finally:
        store.close()
    reopened = SQLiteStore(db)
    try:
        assert Ledger(reopened).balance("user-1").purchased == 500
    finally:
        reopened.close()
