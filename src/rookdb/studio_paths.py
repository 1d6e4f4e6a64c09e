"""Which request paths are the Studio's: one answer for the server's gate and the Studio.

The gate (`rookdb.server.auth`) takes a Studio session cookie for writes only on
these paths and sends a stranger there to the login page; the Studio answers
its errors there with pages. A module of its own, outside `rookdb.studio`, so
the server's gate can ask without importing the Studio.
"""

from __future__ import annotations

STUDIO_PREFIX = "/studio"


def is_studio_path(path: str) -> bool:
    """Whether a path is the Studio's (its pages, and / which redirects to them)."""
    return path == "/" or path == STUDIO_PREFIX or path.startswith(STUDIO_PREFIX + "/")
