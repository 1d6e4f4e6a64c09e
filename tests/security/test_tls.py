"""TLS end to end: `rookdb serve --tls-cert/--tls-key`, the client and CLI trusting a CA file."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import rookdb
from rookdb.errors import InvalidInput, ServerUnreachable
from rookdb_process import Served, cli, serve

from .certs import Certificates, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certs: Certificates) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("tls-data")
    served = serve(
        ["--data-dir", str(data), "--port", "0", "--tls-cert", str(certs.cert),
         "--tls-key", str(certs.key)]
    )  # fmt: skip
    yield served
    served.stop()


def test_the_client_trusts_the_ca_file(tls_server: Served, certs: Certificates) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    key = tls_server.admin_key
    with rookdb.Client(tls_server.url, api_key=key, ca_file=certs.ca) as client:
        db = client.create_database("secure")
        db.put("users/1", {"name": "Ann"})
        assert db.get("users/1").body == {"name": "Ann"}  # type: ignore[union-attr]
    # Without the CA the certificate is not trusted: no request goes through.
    untrusting = rookdb.Client(tls_server.url, api_key=key)
    with untrusting, pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.list_databases()
    with pytest.raises(InvalidInput, match="CA file"):
        rookdb.Client(tls_server.url, ca_file=certs.ca.parent / "missing.pem")
    # Plain http to the TLS port gets nowhere.
    with pytest.raises(httpx.HTTPError):
        httpx.get(tls_server.url.replace("https://", "http://") + "/health", timeout=10)


def test_the_cli_takes_a_ca_file(tls_server: Served, certs: Certificates) -> None:
    key = tls_server.admin_key
    assert key is not None
    args = ["--url", tls_server.url, "--api-key", key]
    made = cli(*args, "--ca-file", str(certs.ca), "db", "create", "viacli")
    assert made.returncode == 0, made.stderr
    listed = cli(*args, "db", "list", "--json", env={"ROOKDB_CA_FILE": str(certs.ca)})
    assert listed.returncode == 0 and "viacli" in listed.stdout
    refused = cli(*args, "db", "list")
    assert refused.returncode == 1 and "certificate" in refused.stderr.lower()
    assert "Traceback" not in refused.stderr


def test_studio_cookies_are_secure_over_tls(tls_server: Served, certs: Certificates) -> None:
    trust = ssl.create_default_context(cafile=str(certs.ca))
    with httpx.Client(base_url=tls_server.url, verify=trust, timeout=30) as browser:
        page = browser.get("/studio/login")
        assert page.status_code == 200
        csrf_cookie = page.headers["set-cookie"]
        assert "Secure" in csrf_cookie and "HttpOnly" in csrf_cookie
        assert "samesite=strict" in csrf_cookie.lower()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        logged = browser.post(
            "/studio/login",
            data={
                "csrf_token": token.group(1),
                "api_key": tls_server.admin_key,
                "next": "/studio/",
            },
        )
        assert logged.status_code == 303 and logged.headers["location"] == "/studio/"
        session = logged.headers["set-cookie"]
        assert session.startswith("rookdb_session=")
        assert "Secure" in session and "HttpOnly" in session and "samesite=lax" in session.lower()
        assert browser.get("/studio/").status_code == 200


def test_tls_options_are_checked_before_serving(tmp_path: Path, certs: Certificates) -> None:
    only_cert = cli("serve", "--data-dir", str(tmp_path / "d"), "--tls-cert", str(certs.cert))
    assert only_cert.returncode == 1 and "--tls-cert and --tls-key" in only_cert.stderr
    missing = cli(
        "serve", "--data-dir", str(tmp_path / "d"), "--tls-cert", str(tmp_path / "nope.pem"),
        "--tls-key", str(certs.key),
    )  # fmt: skip
    assert missing.returncode == 1 and "no such file" in missing.stderr
