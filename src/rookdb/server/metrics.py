"""`/metrics`: backup task health in the Prometheus text format.

A fresh registry per scrape, filled from the persisted status, so the numbers
are the same whichever process wrote them and nothing global is mutated.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rookdb.app_state import AppState
from rookdb.cluster.replication import Replication
from rookdb.server.alert_metrics import add_alert_metrics
from rookdb.server.dependencies import TasksDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.tasks.clock import parse_time

router = APIRouter(tags=["metrics"], route_class=StrictJsonRoute)

_LABELS = ("database", "task_id", "task")


@router.get("/metrics")
def metrics(tasks: TasksDep, request: Request) -> Response:
    """Per backup task: last success time, last duration, bytes, failures, overdue."""
    registry = CollectorRegistry()

    def gauge(name: str, doc: str) -> Gauge:
        return Gauge(name, doc, _LABELS, registry=registry)

    last_success = gauge(
        "rookdb_backup_last_success_timestamp_seconds",
        "Unix time of the last successful (or skipped, unchanged) backup; 0 before the first.",
    )
    last_full = gauge(
        "rookdb_backup_last_full_timestamp_seconds", "Unix time of the last successful full backup."
    )
    duration = gauge("rookdb_backup_last_duration_seconds", "Duration of the last run.")
    size = gauge("rookdb_backup_last_size_bytes", "Size of the file the last run wrote.")
    runs = gauge("rookdb_backup_runs_total", "Runs since the task was created.")
    failures = gauge("rookdb_backup_failures_total", "Failed runs since the task was created.")
    overdue = gauge(
        "rookdb_backup_overdue",
        "1 when the last successful backup is older than the schedule allows (RPO broken).",
    )
    running = gauge("rookdb_backup_running", "1 while a run of the task is going on.")
    drill_success = gauge(
        "rookdb_backup_drill_last_success_timestamp_seconds",
        "Unix time of the last drill that proved the newest chain restores; 0 before the first.",
    )
    drill_restore = gauge(
        "rookdb_backup_drill_restore_seconds",
        "How long the last passed drill took to restore the chain (the measured recovery time).",
    )
    drill_cpu = gauge("rookdb_backup_drill_cpu_seconds", "CPU seconds the last drill used.")
    drill_runs = gauge("rookdb_backup_drill_runs_total", "Restore drills run.")
    drill_failures = gauge(
        "rookdb_backup_drill_failures_total", "Restore drills that found the chain not restorable."
    )
    responsible = Gauge(
        "rookdb_backup_responsible",
        "1 for the node that runs the task (in a cluster: as the observer placed it).",
        (*_LABELS, "node"),
        registry=registry,
    )
    for database, task, status, record in tasks.all_statuses():
        responsible.labels(database, task.id, task.name, status.node).set(1)
        labels = (database, task.id, task.name)
        last_success.labels(*labels).set(_unix(record.last_success))
        last_full.labels(*labels).set(_unix(record.last_full_backup))
        last_run, verified, drill = (
            record.last_run,
            record.last_verified_restorable,
            record.last_drill,
        )
        duration.labels(*labels).set(last_run.duration_ms / 1000 if last_run else 0)
        size.labels(*labels).set(last_run.size_bytes if last_run else 0)
        runs.labels(*labels).set(record.runs)
        failures.labels(*labels).set(record.failures)
        overdue.labels(*labels).set(1 if status.overdue else 0)
        running.labels(*labels).set(1 if status.running is not None else 0)
        drill_success.labels(*labels).set(_unix(verified.at if verified else None))
        drill_restore.labels(*labels).set(record.restore_time_seconds or 0)
        drill_cpu.labels(*labels).set((drill.cpu_seconds if drill else None) or 0)
        drill_runs.labels(*labels).set(record.drills)
        drill_failures.labels(*labels).set(record.drill_failures)
    alerts = AppState.of(request.app).alerts
    if alerts is not None:
        add_alert_metrics(alerts, registry)
    replication = AppState.of(request.app).replication
    if replication is not None:
        _replication_lag(replication, registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _replication_lag(replication: Replication, registry: CollectorRegistry) -> None:
    """Per member of each group this node writes: how far behind the write node it is."""
    labels = ("database", "node")
    lag_etags = Gauge(
        "rookdb_replication_lag_etags",
        "Changes the member has not applied yet (as its write node sees it).",
        labels,
        registry=registry,
    )
    lag_seconds = Gauge(
        "rookdb_replication_lag_seconds",
        "Seconds since the member last held every change (0 when it does).",
        labels,
        registry=registry,
    )
    for database in replication.written_here():
        for member in replication.topology(database)["members"]:
            lag_etags.labels(database, member["tag"]).set(member["lag_etags"])
            lag_seconds.labels(database, member["tag"]).set(member["lag_seconds"] or 0)


def _unix(value: str | None) -> float:
    return parse_time(value).timestamp() if value else 0.0
