"""Alerts: tell people when a backup fails, is overdue or cannot be restored, and when it recovers.

Layers, one way: ``events`` (what a status says, pure) → ``incidents`` (the
state machine, pure) → ``store`` / ``outbox`` (system store) → ``monitor``
(evaluation) → ``senders`` / ``delivery`` (channels, retries) → ``service``
(the core API the HTTP routes, the CLI and the Studio call).
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = ["Alerts", "Incident", "Notification"]

if TYPE_CHECKING:
    from rookdb.alerts.incidents import Incident, Notification
    from rookdb.alerts.service import Alerts
else:
    __getattr__ = lazy_exports(
        __name__, {"incidents": ["Incident", "Notification"], "service": ["Alerts"]}
    )
