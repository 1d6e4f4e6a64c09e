"""`rookdb serve` with authentication (the default): first admin key, CLI flags, keys, --open."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from rookdb_process import cli, serve


def test_first_start_prints_an_admin_key_once_and_the_cli_uses_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    served = serve(["--data-dir", str(data), "--port", "0"])
    try:
        key = served.admin_key
        assert key is not None and "API keys required" in "".join(served.lines)
        url = served.url
        assert httpx.get(f"{url}/databases").status_code == 401
        denied = cli("--url", url, "db", "create", "shop")
        assert denied.returncode == 1 and "API key" in denied.stderr
        assert "Traceback" not in denied.stderr
        assert cli("--url", url, "--api-key", key, "db", "create", "shop").returncode == 0
        put = cli("--url", url, "put", "shop", "users/1", '{"a": 1}', env={"ROOKDB_API_KEY": key})
        assert put.returncode == 0, put.stderr
        # A reader key made over HTTP reads but cannot write.
        made = cli("--url", url, "--api-key", key, "keys", "create", "--role", "reader", "--json")
        assert made.returncode == 0, made.stderr
        reader = json.loads(made.stdout)
        got = cli("--url", url, "--api-key", reader["key"], "get", "shop", "users/1")
        assert got.returncode == 0 and '"a": 1' in got.stdout
        refused = cli("--url", url, "--api-key", reader["key"], "delete", "shop", "users/1")
        assert refused.returncode == 1 and "role 'reader'" in refused.stderr
        # Revoked over HTTP; listed on the data dir directly (no key needed there).
        assert cli("--url", url, "--api-key", key, "keys", "revoke", reader["id"]).returncode == 0
        listed = json.loads(cli("--data-dir", str(data), "keys", "list", "--json").stdout)
        assert {k["id"]: k["revoked"] for k in listed}[reader["id"]] is True
        assert all("key" not in k for k in listed)
        again = cli("--url", url, "--api-key", reader["key"], "get", "shop", "users/1")
        assert again.returncode == 1 and "revoked" in again.stderr
    finally:
        output = served.stop()
    # The key was printed once, at the first start; a restart prints none.
    assert output.count(key) == 1
    second = serve(["--data-dir", str(data), "--port", "0"])
    try:
        assert second.admin_key is None
        assert httpx.get(
            f"{second.url}/databases", headers={"authorization": f"Bearer {key}"}
        ).json()
    finally:
        second.stop()


def test_open_mode_is_refused_off_loopback(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        result = cli("serve", "--data-dir", str(tmp_path / "d"), "--host", host, "--open")
        assert result.returncode == 1
        assert "without authentication" in result.stderr and "loopback" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was created


def test_open_mode_on_loopback_refuses_foreign_hosts_and_cross_site_writes(tmp_path: Path) -> None:
    served = serve(["--open", "--data-dir", str(tmp_path / "d"), "--port", "0"])
    try:
        url = served.url
        assert httpx.post(f"{url}/databases", json={"name": "shop"}).status_code == 201
        # DNS rebinding: a page on evil.example resolving to 127.0.0.1.
        rebound = httpx.get(f"{url}/databases", headers={"host": "evil.example"})
        assert rebound.status_code == 403
        # A form posted from another site at the open API.
        cross = httpx.post(
            f"{url}/databases",
            content='{"name": "evil"}',
            headers={"origin": "http://evil.example", "content-type": "text/plain"},
        )
        assert cross.status_code == 403
        assert httpx.get(f"{url}/databases/evil").status_code == 404
    finally:
        served.stop()


def test_keys_on_a_folder_that_is_no_data_dir(tmp_path: Path) -> None:
    result = cli("--data-dir", str(tmp_path / "nowhere"), "keys", "create", "--role", "admin")
    assert result.returncode == 1 and "not a rookdb data dir" in result.stderr
    assert not (tmp_path / "nowhere").exists()
    data = str(tmp_path / "data")
    assert cli("--data-dir", data, "db", "create", "shop").returncode == 0
    unknown = cli("--data-dir", data, "keys", "create", "--role", "root")
    assert unknown.returncode == 1 and "unknown role 'root'" in unknown.stderr
    assert cli("--data-dir", data, "keys", "list", "--json").stdout.strip() == "[]"
