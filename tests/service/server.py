"""Start the reference service (examples/service) with uvicorn on 127.0.0.1, on a free port.

The service runs in its own process, exactly as a platform would run it
(``uvicorn --factory examples.service.app:create_app``); tests talk to it over real HTTP.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["REPO", "Service", "running_service"]

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@dataclass
class Service:
    """A running service: its base URL and what it wrote to its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: list[bytes] = field(default_factory=list)

    def log_text(self) -> str:
        return b"".join(self.log).decode("utf-8", "replace")


@contextmanager
def running_service(
    env: Mapping[str, str], *, workers: int = 1, timeout: float = 60.0
) -> Iterator[Service]:
    """Run the service with ``env`` added to the environment; stop it at the end.

    Port 0 lets the kernel pick a free port; the port is read from uvicorn's own log line.
    """
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "examples.service.app:create_app",
        "--app-dir", str(REPO), "--host", "127.0.0.1", "--port", "0",
        "--log-level", "info", "--no-access-log",
    ]  # fmt: skip
    if workers > 1:
        command += ["--workers", str(workers)]
    environ = {**os.environ, **env}
    process = subprocess.Popen(
        command, cwd=REPO, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    log: list[bytes] = []
    port: list[int] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            log.append(line)
            found = _LISTENING.search(line)
            if found and not port:
                port.append(int(found.group(1)))
                ready.set()
        ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout) or not port:
            raise RuntimeError("the service did not start:\n" + b"".join(log).decode())
        service = Service(f"http://127.0.0.1:{port[0]}", process, log)
        deadline = time.monotonic() + timeout
        while True:  # every worker is up when /healthz answers repeatedly
            try:
                if httpx.get(service.url + "/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service never answered:\n" + service.log_text())
            time.sleep(0.1)
        yield service
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=5)
