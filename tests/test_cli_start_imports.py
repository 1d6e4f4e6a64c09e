"""A CLI command loads only what it uses: no web stack and no cloud SDK for `rookdb --help`.

Run in a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "boto3", "botocore", "azure", "google", "fastapi", "uvicorn", "starlette", "jinja2",
    "prometheus_client", "etcd3gw", "requests", "httpx", "pyftpdlib",
)  # fmt: skip
PROBE = """
import json, sys
from rookdb.cli.main import run
sys.argv = ["rookdb", *sys.argv[1:]]
try:
    run()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(HEAVY)))
sys.stderr.write("\\nLOADED " + json.dumps(heavy) + "\\n")
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["get", "shop", "users/1"], ["db", "list"], ["backup", "ls", "nowhere"]],
    ids=" ".join,
)
def test_a_command_loads_no_web_stack_and_no_cloud_sdk(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(json.dumps(HEAVY))), *args],
        capture_output=True,
        text=True,
        env={"ROOKDB_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    line = next(x for x in result.stderr.splitlines() if x.startswith("LOADED "))
    assert json.loads(line[len("LOADED ") :]) == [], result.stderr
