"""`StudioState`: what the Studio itself keeps for one app, beside the core's `AppState`.

`mount_studio` leaves one on the app and pages find it with `StudioState.of`.
The core objects (instance, tasks, restore jobs) stay in `rookdb.app_state`,
which the HTTP API shares; what exists only for the Studio's pages lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette

from rookdb.studio.restore_jobs import ListedSources


@dataclass
class StudioState:
    """The Studio's own objects for one app."""

    # Backup locations listed on the restore page, with their credentials, for a while.
    listed_sources: ListedSources = field(default_factory=ListedSources)

    def install(self, app: Starlette) -> None:
        """Leave this state on `app`, where `of` finds it."""
        app.state.studio = self

    @staticmethod
    def of(app: Starlette) -> StudioState:
        """The state `mount_studio` left on `app`."""
        state = getattr(app.state, "studio", None)
        if not isinstance(state, StudioState):
            raise RuntimeError("the Studio is not mounted on this app (rookdb.studio.mount_studio)")
        return state
