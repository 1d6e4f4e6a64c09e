"""A real `rookdb serve` process for tests that need one, and the `rookdb` CLI as a process."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_SCRIPT = Path(sys.executable).parent / "rookdb"
ROOKDB = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from rookdb.cli.main import main; main()"]
)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}


@dataclass
class Served:
    """A running `rookdb serve`: its URL, the admin key it printed (if any), its output."""

    process: subprocess.Popen[str]
    url: str
    admin_key: str | None
    lines: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> str:
        """SIGTERM, wait, and return everything it wrote (stdout and stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for reader in self.readers:
            reader.join(5)
        return "".join(self.lines)

    def drain(self) -> None:
        """Keep reading its output from now on, so a chatty server never blocks on a full pipe."""
        for stream in (self.process.stdout, self.process.stderr):
            if stream is None:
                continue
            reader = threading.Thread(target=self._collect, args=(stream,), daemon=True)
            reader.start()
            self.readers.append(reader)

    def _collect(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)


def serve(args: list[str], env: dict[str, str] | None = None) -> Served:
    """Start `rookdb serve ARGS`; return once it announced its URL."""
    process = subprocess.Popen(
        [*ROOKDB, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, **(env or {})},
    )
    assert process.stdout is not None
    lines: list[str] = []
    for _ in range(10):  # the key lines, then the URL line
        ready, _, _ = select.select([process.stdout], [], [], 30)
        if not ready:
            process.kill()
            raise AssertionError("rookdb serve did not announce itself: " + "".join(lines))
        line = process.stdout.readline()
        if not line:
            raise AssertionError("rookdb serve exited: " + "".join(lines) + process.stderr.read())  # type: ignore[union-attr]
        lines.append(line)
        match = re.search(r"rookdb serving (https?://\S+?)/? ", line)
        if match:
            key = next((m.group(0) for x in lines if (m := re.search(r"rk_\S+", x))), None)
            served = Served(process, match.group(1).rstrip("/"), key, lines)
            served.drain()
            return served
    process.kill()
    raise AssertionError("no URL in the first lines: " + "".join(lines))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `rookdb ARGS` as a process."""
    return subprocess.run(
        [*ROOKDB, *args], capture_output=True, text=True, env={**ENV, **(env or {})}, timeout=60
    )
