"""A CLI command loads only what it uses: no web stack and no cloud SDK for `rookdb --help`.

Run in a fresh interpreter (this test process has imported everything already).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rookdb
from rookdb.backup import write_full_backup

# pydantic: typer 0.29 built a pydantic adapter for every parameter it parsed (~0.15 s
# of any command's start-up); typer is pinned to 0.28, which parses without it.
HEAVY = (
    "pydantic", "boto3", "botocore", "azure", "google", "fastapi", "uvicorn", "starlette", "jinja2",
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
commands = sorted(m for m in sys.modules if m.startswith("rookdb.cli."))
sys.stderr.write("CLI " + json.dumps(commands) + "\\n")
sys.stderr.write("RICH " + json.dumps("rich" in sys.modules) + "\\n")
"""


def _probe(tmp_path: Path, args: list[str]) -> dict[str, object]:
    """What a fresh `rookdb ARGS` imported: heavy packages, `rookdb.cli` modules, rich."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.replace("HEAVY", repr(json.dumps(HEAVY))), *args],
        capture_output=True,
        text=True,
        # PYTHONPATH passed on: a checkout other than the installed one tests its own code.
        env={
            "ROOKDB_DATA_DIR": str(tmp_path / "data"),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
        timeout=60,
    )
    found = {}
    for line in result.stderr.splitlines():
        key, _, value = line.partition(" ")
        if key in ("LOADED", "CLI", "RICH"):
            found[key] = json.loads(value)
    assert set(found) == {"LOADED", "CLI", "RICH"}, result.stderr
    return found


@pytest.mark.parametrize(
    "args",
    [["--help"], ["get", "shop", "users/1"], ["db", "list"], ["backup", "ls", "nowhere"]],
    ids=" ".join,
)
def test_a_command_loads_no_web_stack_and_no_cloud_sdk(tmp_path: Path, args: list[str]) -> None:
    assert _probe(tmp_path, args)["LOADED"] == []


def test_get_loads_only_its_own_command_module_and_no_rich(tmp_path: Path) -> None:
    # Every other command module and rich's drawing stay unloaded: that is the start-up saved.
    found = _probe(tmp_path, ["get", "shop", "users/1"])
    assert found["CLI"] == [
        "rookdb.cli.commands",
        "rookdb.cli.context",
        "rookdb.cli.documents",
        "rookdb.cli.main",
        "rookdb.cli.options",
        "rookdb.cli.output",
    ]
    assert found["RICH"] is False


def test_help_is_drawn_without_rich(tmp_path: Path) -> None:
    # Typer's boxed help imports rich's markdown renderer: most of what --help cost.
    found = _probe(tmp_path, ["--help"])
    assert found["RICH"] is False
    assert found["CLI"] == ["rookdb.cli.commands", "rookdb.cli.context", "rookdb.cli.main"]


def test_backup_get_loads_no_rich(tmp_path: Path) -> None:
    # Tables are drawn by the commands that list; a look-up in a backup prints JSON.
    with rookdb.open(tmp_path / "source") as instance:
        db = instance.create_database("shop")
        db.put("users/1", {"name": "Ann"})
        folder = write_full_backup(db, tmp_path / "backups").path.parent
    found = _probe(tmp_path, ["backup", "get", str(folder), "users/1"])
    assert found["RICH"] is False and found["LOADED"] == []
