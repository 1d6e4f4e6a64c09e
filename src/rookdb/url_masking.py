"""A URL's password never reaches a message, a log line or a result."""

from __future__ import annotations


def masked_url(url: str) -> str:
    """`url` with the password of its user info replaced by ********."""
    # Split by hand rather than with urlsplit: the URL may be the malformed one
    # being reported (a bad port, an unclosed IPv6 bracket), which urlsplit refuses.
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.partition(':')[0]}:********@{host}{slash}{path}"
