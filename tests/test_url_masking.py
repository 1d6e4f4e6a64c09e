"""A URL's password is masked in every message, even when the URL itself is malformed."""

from __future__ import annotations

import pytest

from rookdb.url_masking import masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ftp://u:secret@h:21/x", "ftp://u:********@h:21/x"),
        ("ftp://u:secret@127.0.0.1:99999/x", "ftp://u:********@127.0.0.1:99999/x"),
        ("ftp://u:secret@[::1/x", "ftp://u:********@[::1/x"),
        ("ftp://u:s:e@c@h/x", "ftp://u:********@h/x"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        ("/local/path", "/local/path"),
    ],
)
def test_the_password_never_shows(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "secret" not in masked_url(url)
