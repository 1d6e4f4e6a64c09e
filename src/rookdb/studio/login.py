"""Studio pages: log in with an API key, log out.

The key is checked once, here; the browser then holds a signed session
cookie naming the key (HttpOnly, SameSite=Lax, Secure over TLS), which the
server's gate checks against the key store on every request.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from rookdb.app_state import AppState
from rookdb.security.session import SESSION_COOKIE, SESSION_SECONDS, new_session
from rookdb.studio.web import PREFIX, render, session_secret, set_cookie

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a Studio page of this server, never another site."""
    if not target or not target.startswith(PREFIX + "/") or target.startswith("//"):
        return PREFIX + "/"
    if any(c in target for c in "\r\n\\"):
        return PREFIX + "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """The login form (a server without authentication has nothing to log into)."""
    if not AppState.of(request.app).auth_required:
        return RedirectResponse(PREFIX + "/", status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the key; on success set the session cookie and go where the user was going."""
    form = await request.form()
    target = safe_next(str(form.get("next") or ""))
    state = AppState.of(request.app)
    if not state.auth_required:
        return RedirectResponse(target, status_code=303)
    token = str(form.get("api_key") or "").strip()
    key = state.api_keys.authenticate(token)
    if key is None:
        context = {"next": target, "error": "That API key is not valid or was revoked."}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    cookie = new_session(session_secret(request), key.id)
    set_cookie(request, response, SESSION_COOKIE, cookie, max_age=SESSION_SECONDS)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
