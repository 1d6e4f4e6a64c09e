"""The alert part of `/metrics`: incidents open by kind, deliveries by channel and outcome."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from rookdb.alerts import Alerts
from rookdb.alerts.events import ALERT_KINDS


def add_alert_metrics(alerts: Alerts, registry: CollectorRegistry) -> None:
    """Fill `registry` with the alert gauges, from the system store (same on every node)."""
    counts = alerts.counts()
    open_ = Gauge(
        "rookdb_alert_incidents_open",
        "Incidents open and not dismissed, by kind.",
        ("kind",),
        registry=registry,
    )
    for kind in ALERT_KINDS:
        open_.labels(kind).set(counts.open_by_kind.get(kind, 0))
    Gauge(
        "rookdb_alert_incidents_dismissed",
        "Incidents dismissed and not recovered yet.",
        registry=registry,
    ).set(counts.dismissed)
    Gauge(
        "rookdb_alert_deliveries_pending",
        "Notifications waiting to be sent or retried.",
        registry=registry,
    ).set(counts.queued)
    deliveries = Gauge(
        "rookdb_alert_deliveries_total",
        "Notification deliveries by channel: delivered, failed (given up), retried.",
        ("channel_id", "channel", "outcome"),
        registry=registry,
    )
    for (channel_id, name), numbers in counts.deliveries.items():
        for outcome, number in numbers.items():
            deliveries.labels(channel_id, name, outcome).set(number)
