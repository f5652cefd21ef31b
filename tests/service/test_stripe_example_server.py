"""examples/stripe_webhook_server.py answers bad lengths and missing signatures plainly."""

from __future__ import annotations

import socket

import pytest

from tests.payments.harness import Endpoint, T
from tests.payments.stripe_payloads import checkout_completed, encode
from tests.payments.test_example_server import load_example, post, serving


def raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "lengths",
    [[b"abc"], [b"-5"], [b"1e3"], [b"\xd9\xa3"], [b"2", b"2"], []],
    ids=["letters", "negative", "exponent", "arabic-digit", "twice", "absent"],
)
def test_a_bad_content_length_gets_a_400_and_no_traceback(lengths: list[bytes]) -> None:
    endpoint = Endpoint()
    server = load_example().make_server(endpoint.handler, "127.0.0.1", 0)
    head = b"".join(b"Content-Length: " + value + b"\r\n" for value in lengths)
    with serving(server) as base:
        answer = raw(base, b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n{}")
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer
    assert b'"bad_length"' in answer
    assert b"Traceback" not in answer
    assert endpoint.purchased() == 0


def test_a_missing_signature_is_refused_without_stripe_pythons_advice() -> None:
    endpoint = Endpoint()
    server = load_example().make_server(endpoint.handler, "127.0.0.1", 0)
    body = encode(checkout_completed("evt_1", created=T))
    with serving(server) as base:
        status, answer = post(base + "/webhooks/stripe", body, None)
    assert status == 400
    assert b"without_verification" not in answer
    assert b"header missing" in answer
    assert endpoint.purchased() == 0
