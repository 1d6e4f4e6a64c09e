"""What the Studio tests share: a real `rookdb serve` process, Chromium settings, screenshots."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The browser's zone differs from UTC so that local-time display is really exercised.
BROWSER_ZONE = "Asia/Tokyo"


@dataclass
class StudioServer:
    """A `rookdb serve` process: its base URL and data dir."""

    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    admin_key: str | None = None  # printed at the first start when API keys are required

    def page_url(self, path: str) -> str:
        """An absolute URL on this server."""
        return self.url.rstrip("/") + path


def start_server(data_dir: Path, *, auth: bool = False) -> StudioServer:
    """Start `rookdb serve` on a free loopback port; return once it announced its URL."""
    rookdb = Path(sys.executable).with_name("rookdb")
    mode = "--auth" if auth else "--open"
    command = [str(rookdb), "serve", mode, "--data-dir", str(data_dir), "--port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=20)
        except queue.Empty:
            process.kill()
            raise RuntimeError("rookdb serve did not start: " + "".join(seen)) from None
        seen.append(line)
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/?)", line)
        if match:
            key = next((m.group(0) for s in seen if (m := re.search(r"rk_\S+", s))), None)
            return StudioServer(match.group(1), data_dir, process, key)
        if process.poll() is not None:
            raise RuntimeError("rookdb serve exited: " + "".join(seen))


def stop_server(server: StudioServer) -> None:
    """SIGTERM, then wait (a clean shutdown stops the scheduler)."""
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


def screenshot(page: Page, name: str) -> None:
    """Save the whole page to docs/screenshots/{name}.png (shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
