"""What every Studio page shares: the template environment, filters and the core objects.

Pages are thin: they read the core objects of the app's `AppState` (the
`Instance`, the backup task service, the restore jobs) and render a template.
Nothing here decides anything about data or backups.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from rookdb.app_state import AppState, instance_of, principal
from rookdb.errors import Forbidden, RookError, Unauthorized
from rookdb.security.roles import Action, allows
from rookdb.security.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    csrf_token,
    csrf_valid,
    new_csrf_cookie,
)
from rookdb.studio_paths import STUDIO_PREFIX, is_studio_path

STUDIO_DIR = Path(__file__).resolve().parent
PREFIX = STUDIO_PREFIX

templates = Jinja2Templates(directory=str(STUDIO_DIR / "templates"))


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page; `notice` from the query string shows as a confirmation banner.

    Every page carries the CSRF token its forms send back (and sets the CSRF
    cookie on a browser's first visit) and says who is logged in.
    """
    key = principal(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    fresh = not cookie
    if not cookie:
        cookie = new_csrf_cookie()
    full = {
        "notice": request.query_params.get("notice"),
        "csrf_token": csrf_token(csrf_secret(request), cookie),
        "principal": key,
        "auth_required": AppState.of(request.app).auth_required,
        # Controls a key may not use are not shown (the server refuses them anyway).
        "can_admin": key is None or allows(key.role, Action.ADMIN),
        "can_backup": key is None or allows(key.role, Action.BACKUP_NOW),
        "open_alerts": _open_alerts(request),
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    if fresh:
        set_cookie(request, response, CSRF_COOKIE, cookie, samesite="strict")
    return response


def _open_alerts(request: Request) -> int | None:
    """The header badge's number: open incidents; None hides the link (a stranger, no alerts)."""
    state, key = AppState.of(request.app), principal(request)
    if state.alerts is None or (state.auth_required and key is None):
        return None
    if key is not None and key.databases is not None:
        return None  # alerts are server-wide: a key limited to some databases cannot open them
    try:
        return len(state.alerts.open_incidents())
    except RookError:
        return None  # a page must render even when the alert state cannot be read


def csrf_secret(request: Request) -> bytes:
    """The key CSRF tokens are signed with (derived from the server's master key)."""
    return instance_of(request).secrets.derive("studio-csrf")


def session_secret(request: Request) -> bytes:
    """The key Studio session cookies are signed with (derived from the master key)."""
    return instance_of(request).secrets.derive("studio-session")


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    samesite: Literal["lax", "strict"] = "lax",
    max_age: int | None = None,
) -> None:
    """A cookie scripts cannot read, sent only over https when the server uses TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite=samesite,
        secure=request.url.scheme == "https",
    )


async def require_csrf(request: Request) -> None:
    """Every Studio POST must carry the token of the page it came from (router dependency)."""
    if request.method != "POST":
        return
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not csrf_valid(
        csrf_secret(request),
        request.cookies.get(CSRF_COOKIE),
        token if isinstance(token, str) else None,
    ):
        raise Forbidden(
            "this form has expired or was sent from another site: go back, reload the page "
            "and submit it again"
        )


def redirect(path: str, *, notice: str | None = None) -> RedirectResponse:
    """A POST-redirect-GET answer, optionally carrying a one-line confirmation."""
    url, hash_, fragment = (PREFIX + path).partition("#")
    if notice:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice})
    return RedirectResponse(url + hash_ + fragment, status_code=303)


def error_page(request: Request, exc: RookError) -> HTMLResponse:
    """A page that says in plain words what went wrong (NotFound, InvalidInput ...)."""
    return render(request, "error.html", {"error": exc}, status_code=exc.http_status)


def studio_error_page(request: Request, error: RookError) -> Response | None:
    """Errors on Studio paths as pages: a stranger goes to the login form, others read why.

    Added to the app's `AppState.error_pages` when the Studio is mounted, so the
    server's gate and error handlers answer a browser in the Studio's look.
    """
    path: str = request.scope["path"]
    if not is_studio_path(path):
        return None
    if isinstance(error, Unauthorized):
        query = request.scope["query_string"].decode("latin-1")
        target = path + ("?" + query if query else "")
        return RedirectResponse(PREFIX + "/login?next=" + quote(target, safe=""), status_code=303)
    return error_page(request, error)


def when(value: str | datetime | None, empty: str = "never") -> Markup:
    """A time as <time>: UTC in the page, turned into local time by studio.js; UTC on hover."""
    if value is None or value == "":
        return Markup('<span class="muted">{}</span>').format(empty)
    moment = _parse(value)
    if moment is None:
        return Markup("<span>{}</span>").format(value)
    iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = moment.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time class="when" datetime="{}" title="{}">{}</time>').format(
        iso, moment.strftime("%Y-%m-%d %H:%M:%S UTC"), shown
    )


def size(value: int | None) -> str:
    """Bytes in the unit a person reads (1.2 MB)."""
    if value is None:
        return "—"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


def duration(ms: int | float | None) -> str:
    """Milliseconds as '812 ms', '4.2 s' or '3 min 5 s'."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{int(ms)} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def plural(count: int, word: str) -> str:
    """'1 document', '3 documents'."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _parse(value: str | datetime) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _studio_url(path: str = "/") -> str:
    return PREFIX + path


templates.env.filters["when"] = when
templates.env.filters["size"] = size
templates.env.filters["duration"] = duration
templates.env.filters["plural"] = plural
templates.env.globals["studio"] = _studio_url
templates.env.globals["escape"] = escape
