"""Studio sessions and CSRF tokens: values signed with keys derived from the master key.

A session cookie names the API key the user logged in with and when it
expires; it is checked against the key store on every request, so revoking
the key ends the session at once. CSRF tokens follow the signed
double-submit pattern: a random cookie, and in every form an HMAC of it that
only the server can compute; a POST must carry both and they must match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import orjson

SESSION_COOKIE = "rookdb_session"
CSRF_COOKIE = "rookdb_csrf"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600


def _sign(secret: bytes, data: bytes) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def new_session(secret: bytes, key_id: str, *, now: float | None = None) -> str:
    """A session cookie value for a key id, valid for SESSION_SECONDS."""
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    # No '=' padding: a cookie value with '=' would be sent quoted.
    data = orjson.dumps({"kid": key_id, "exp": expires})
    payload = base64.urlsafe_b64encode(data).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload.encode())}"


def session_key_id(secret: bytes, cookie: str, *, now: float | None = None) -> str | None:
    """The key id of a valid, unexpired session cookie, else None."""
    payload, _, signature = cookie.partition(".")
    if not signature or not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
        return None
    if data["exp"] < (now if now is not None else time.time()):
        return None
    kid = data.get("kid")
    return kid if isinstance(kid, str) else None


def new_csrf_cookie() -> str:
    """A fresh random value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The token forms carry for this CSRF cookie."""
    return _sign(secret, b"csrf\0" + cookie.encode())


def csrf_valid(secret: bytes, cookie: str | None, token: str | None) -> bool:
    """Whether a submitted token matches the CSRF cookie of the same browser."""
    if not cookie or not token:
        return False
    return hmac.compare_digest(token, csrf_token(secret, cookie))
