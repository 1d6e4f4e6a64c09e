"""Mounting the Studio on an app: its pages, its assets, its error pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from rookdb.app_state import AppState
from rookdb.studio import alerts as alert_pages
from rookdb.studio import (
    browse,
    cluster,
    databases,
    documents,
    group,
    login,
    restore,
    task_graph,
    tasks,
)
from rookdb.studio.state import StudioState
from rookdb.studio.web import PREFIX, STUDIO_DIR, require_csrf, studio_error_page


def studio_router() -> APIRouter:
    """Every Studio page, under /studio; every POST needs the CSRF token of its form."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(require_csrf)])
    for module in (login, databases, documents, restore, browse, tasks, task_graph, cluster, group):
        router.include_router(module.router)
    router.include_router(alert_pages.router)
    return router


def mount_studio(app: FastAPI) -> None:
    """Serve the Studio from `app`: pages under /studio, / redirects there, assets at /static."""
    AppState.of(app).error_pages.append(studio_error_page)
    StudioState().install(app)
    app.include_router(studio_router())
    app.mount("/static", StaticFiles(directory=str(STUDIO_DIR / "static")), name="static")

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)
