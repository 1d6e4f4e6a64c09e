"""The README's webhook receiver works: it accepts rookdb's signed deliveries and refuses others."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from rookdb import Instance
from rookdb.alerts import Alerts
from rookdb.errors import AlertDeliveryFailed

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_receiver() -> dict[str, Any]:
    text = README.read_text()
    section = text[text.index("\n## Alerts\n") : text.index("\n## Studio\n")]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {"__name__": "readme_example"}  # its server does not start
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


@pytest.fixture
def served_example() -> Iterator[tuple[str, bytes]]:
    example = readme_receiver()
    server = HTTPServer(("127.0.0.1", 0), example["Receiver"])
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/", example["SECRET"]
    server.shutdown()
    server.server_close()


def test_the_readme_receiver_accepts_signed_deliveries_and_refuses_the_rest(
    instance: Instance, served_example: tuple[str, bytes]
) -> None:
    url, secret = served_example
    alerts = Alerts(instance.system, instance.secrets)
    good = alerts.add_channel(
        {"kind": "webhook", "name": "ok", "url": url, "secret": secret.decode()}
    )
    assert alerts.send_test(good["id"]).outcome == "delivered"
    for body in (
        {"kind": "webhook", "name": "wrong key", "url": url, "secret": "another key"},
        {"kind": "webhook", "name": "unsigned", "url": url},
    ):
        channel = alerts.add_channel(body)
        with pytest.raises(AlertDeliveryFailed, match="answered 401"):
            alerts.send_test(channel["id"])
