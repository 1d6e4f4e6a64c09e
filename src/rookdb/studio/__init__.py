"""The Studio: server-rendered web pages over the same core API as the CLI and HTTP API.

``mount_studio(app)`` adds the pages under ``/studio`` (``/`` redirects
there) and the hand-written CSS/JS under ``/static``, and answers errors on
its paths with its own pages (login, error). Pages read the core objects from
the app's `rookdb.app_state.AppState`; they parse a form, call one core
function and render. The server mounts the Studio; the Studio never imports
the server.
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = ["mount_studio", "studio_router"]

if TYPE_CHECKING:
    from rookdb.studio.mount import mount_studio, studio_router
else:
    __getattr__ = lazy_exports(__name__, {"mount": ["mount_studio", "studio_router"]})
