"""The Studio: server-rendered web pages over the same core API as the CLI and HTTP API.

``mount_studio(app)`` adds the pages under ``/studio`` (``/`` redirects
there) and the hand-written CSS/JS under ``/static``, and answers errors on
its paths with its own pages (login, error). Pages read the core objects from
the app's `rookdb.app_state.AppState`; they parse a form, call one core
function and render. The server mounts the Studio; the Studio never imports
the server.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from rookdb.app_state import AppState
from rookdb.studio import databases, documents, login, restore, tasks
from rookdb.studio.web import PREFIX, STUDIO_DIR, require_csrf, studio_error_page


def studio_router() -> APIRouter:
    """Every Studio page, under /studio; every POST needs the CSRF token of its form."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(require_csrf)])
    for module in (login, databases, documents, restore, tasks):
        router.include_router(module.router)
    return router


def mount_studio(app: FastAPI) -> None:
    """Serve the Studio from `app`: pages under /studio, / redirects there, assets at /static."""
    AppState.of(app).error_pages.append(studio_error_page)
    app.include_router(studio_router())
    app.mount("/static", StaticFiles(directory=str(STUDIO_DIR / "static")), name="static")

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)


__all__ = ["mount_studio", "studio_router"]
