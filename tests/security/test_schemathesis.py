"""Schemathesis against the served OpenAPI schema of a real `rookdb serve`: no 5xx anywhere.

Bounded: 10 examples per operation, a fixed seed, no shrinking, and a time
budget for the whole run, so it stays well under two minutes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from rookdb_process import ENV, serve

ST = Path(sys.executable).parent / "st"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


def test_no_operation_answers_5xx(tmp_path: Path) -> None:
    served = serve(["--data-dir", str(tmp_path / "data"), "--port", "0"])
    assert served.admin_key is not None
    auth = f"Authorization: Bearer {served.admin_key}"
    try:
        with httpx.Client(base_url=served.url, headers={"authorization": auth[15:]}) as http:
            assert http.post("/databases", json={"name": "shop"}).status_code == 201
            assert http.put("/databases/shop/docs/users/1", json={"name": "Ann"}).is_success
        # Path parameters named `db` point at a real database, so operations get past the 404.
        config = tmp_path / "schemathesis.toml"
        config.write_text('[parameters]\n"path.db" = "shop"\n')
        result = subprocess.run(
            [str(ST), "--config-file", str(config), "run", f"{served.url}/openapi.json",
             "--header", auth, "--checks", "not_a_server_error", "--max-examples", "10",
             "--seed", "20261123", "--phases", "examples,fuzzing", "--no-shrink",
             "--max-time", "45", "--request-timeout", "20", "--workers", "1"],
            capture_output=True, text=True, env={**ENV, "SCHEMATHESIS_HOOKS": str(HOOKS)},
            timeout=110, cwd=tmp_path,
        )  # fmt: skip
    finally:
        output = served.stop()
    report = result.stdout + result.stderr
    tested = re.search(r"Tested: (\d+)", report)
    assert tested is not None and int(tested.group(1)) >= 30, report[-3000:]
    assert result.returncode == 0, report[-6000:]
    assert "Server error" not in report
    # Nothing the fuzzer sent made the server log an unexpected exception.
    assert "Traceback" not in output, output[-4000:]
