"""`rookdb backup tasks ...`: create, list, show, run now, enable, disable, delete backup tasks.

Embedded (`--data-dir`) commands call `rookdb.tasks.BackupTasks`; remote
(`--url`) ones call the same operations over HTTP. Secrets are never printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import orjson
import typer

from rookdb.cli import context
from rookdb.cli.options import CompressionOption, DatabaseArg, JsonFlag
from rookdb.errors import BackupError, InvalidInput

if TYPE_CHECKING:  # rookdb.tasks is imported when a command runs, not with the CLI
    from rookdb.tasks import BackupTasks
    from rookdb.tasks.status_view import TaskOverview, TaskStatus

tasks_app = typer.Typer(
    name="tasks",
    help="Scheduled backup tasks: full/incremental cron schedules, destinations, status.",
    no_args_is_help=True,
)

TaskArg = Annotated[str, typer.Argument(metavar="ID", help="The task id (e.g. t-3f2a).")]


class RemoteTasks:
    """The `BackupTasks` operations over a rookdb server's HTTP API."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self._client.request(method, path, **kwargs).content)

    @staticmethod
    def _base(database: str, task_id: str | None = None) -> str:
        # Quoted segments: an id with "/" or ".." must not reach another route.
        base = f"/databases/{quote(database, safe='')}/tasks/backups"
        if task_id is None:
            return base
        if not task_id:
            raise InvalidInput("give a task id (see `rookdb backup tasks list`)", field="task_id")
        return f"{base}/{quote(task_id, safe='')}"

    def create(self, database: str, payload: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", self._base(database), json=payload)
        return result

    def overview(self, database: str) -> list[TaskOverview]:
        from rookdb.tasks.status_view import TaskOverview

        rows = self._call("GET", self._base(database))["tasks"]
        return [TaskOverview.from_json(row) for row in rows]

    def get(self, database: str, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", self._base(database, task_id))
        return result

    def task_status(self, database: str, task_id: str) -> TaskStatus:
        from rookdb.tasks.status_view import TaskStatus

        return TaskStatus.from_json(self._call("GET", f"{self._base(database, task_id)}/status"))

    def enable(self, database: str, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"{self._base(database, task_id)}/enable")
        return result

    def disable(self, database: str, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"{self._base(database, task_id)}/disable")
        return result

    def delete(self, database: str, task_id: str) -> None:
        self._call("DELETE", self._base(database, task_id))

    def backup_now(self, database: str, task_id: str, *, full: bool) -> dict[str, Any]:
        path = f"{self._base(database, task_id)}/backup-now"
        result: dict[str, Any] = self._call(
            "POST", path, params={"full": "true" if full else "false"}
        )
        return result

    def drill_now(self, database: str, task_id: str) -> dict[str, Any]:
        path = f"{self._base(database, task_id)}/drill-now"
        result: dict[str, Any] = self._call("POST", path)
        return result

    def close(self) -> None:
        self._client.close()


@contextmanager
def open_tasks(ctx: typer.Context) -> Iterator[BackupTasks | RemoteTasks]:
    """`BackupTasks` over the data dir, or `RemoteTasks` over the server; closed at the end."""
    cli = context.get(ctx)
    if cli.url:
        remote = RemoteTasks(cli.client())
        try:
            yield remote
        finally:
            remote.close()
        return
    from rookdb.tasks import BackupTasks

    instance = cli.instance()
    service = BackupTasks(instance)
    try:
        yield service
    finally:
        service.scheduler.stop()
        instance.close()


@tasks_app.command("create")
def create(
    ctx: typer.Context,
    database: DatabaseArg,
    full_cron: Annotated[
        str | None, typer.Option("--full-cron", help="Cron (5 fields) of full backups.")
    ] = None,
    incremental_cron: Annotated[
        str | None,
        typer.Option("--incremental-cron", help="Cron (5 fields) of incremental backups."),
    ] = None,
    to_local: Annotated[
        list[str] | None, typer.Option("--to-local", help="A local folder destination (repeat).")
    ] = None,
    destination: Annotated[
        list[str] | None,
        typer.Option(
            "--destination",
            help='A destination as JSON, e.g. \'{"kind": "s3", "bucket": "b"}\' (repeat).',
        ),
    ] = None,
    backup_type: Annotated[
        str, typer.Option("--type", help="backup (logical) or snapshot (raw, with indexes).")
    ] = "backup",
    name: Annotated[
        str | None, typer.Option("--name", help="Task name (default: generated).")
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="Time zone of the crons.")] = "UTC",
    preferred_node: Annotated[
        str | None, typer.Option("--preferred-node", help="Node tag that should run the task.")
    ] = None,
    keep_full_chains: Annotated[
        int | None,
        typer.Option(
            "--keep-full-chains",
            min=1,
            max=context.INT64_MAX,
            help="Keep the newest N full chains.",
        ),
    ] = None,
    max_age_days: Annotated[
        float | None, typer.Option("--max-age-days", help="Delete chains older than this.")
    ] = None,
    compression: CompressionOption = "zstd",
    encryption_key: Annotated[
        str | None,
        typer.Option("--encryption-key", envvar="ROOKDB_BACKUP_KEY", help="Encrypt with this key."),
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    drill: Annotated[
        bool, typer.Option("--drill", help="Prove each full backup restores (a restore drill).")
    ] = False,
    drill_cron: Annotated[
        str | None, typer.Option("--drill-cron", help="Also drill the newest chain on this cron.")
    ] = None,
    drill_destination: Annotated[
        int,
        typer.Option(
            "--drill-destination",
            min=0,
            max=context.INT64_MAX,
            help="Drill from this destination (0: first).",
        ),
    ] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Create a backup task; prints its id."""
    # A folder given here is read from where the command runs; a server could not know that.
    destinations: list[Any] = [
        {"kind": "local", "path": path if context.get(ctx).url else _absolute(path)}
        for path in to_local or []
    ]
    for index, text in enumerate(destination or []):
        try:
            destinations.append(orjson.loads(text))
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(
                f"--destination #{index + 1} is not valid JSON: {exc}", field="destinations"
            ) from exc
    payload: dict[str, Any] = {
        "type": backup_type,
        "full_backup_cron": full_cron,
        "incremental_backup_cron": incremental_cron,
        "timezone": timezone,
        "preferred_node": preferred_node,
        "compression": compression,
        "encryption_key": encryption_key,
        "retention": {"keep_full_chains": keep_full_chains, "max_age_days": max_age_days},
        "destinations": destinations,
        "disabled": disabled,
    }
    if name:
        payload["name"] = name
    if drill or drill_cron:
        payload["drill"] = {
            "after_full": drill,
            "cron": drill_cron,
            "destination": drill_destination,
        }
    with open_tasks(ctx) as tasks:
        task = tasks.create(database, payload)
    if as_json:
        context.print_json(task)
    else:
        typer.echo(task["id"])
        _say(ctx, f"created backup task {task['id']} ({task['name']})")


@tasks_app.command("list")
def list_tasks(ctx: typer.Context, database: DatabaseArg, as_json: JsonFlag = False) -> None:
    """List a database's backup tasks with their status."""
    with open_tasks(ctx) as tasks:
        found: list[TaskOverview] = tasks.overview(database)
    if as_json:
        context.print_json([row.to_json() for row in found])
        return
    from rich.console import Console  # only where a table is drawn: rich is slow to import
    from rich.table import Table

    table = Table("id", "name", "state", "last full", "last incremental", "next", "last error")
    for row in found:
        status = row.status
        table.add_row(
            row.id,
            row.task["name"],
            status.state + (" (overdue)" if status.overdue else ""),
            status.last_full_backup or "never",
            status.last_incremental_backup or "never",
            _next(status),
            (status.last_run.error if status.last_run else None) or "",
        )
    Console(file=sys.stdout).print(table)


@tasks_app.command("show")
def show(
    ctx: typer.Context, database: DatabaseArg, task_id: TaskArg, as_json: JsonFlag = False
) -> None:
    """Show a task's definition (secrets masked) and status."""
    with open_tasks(ctx) as tasks:
        task = tasks.get(database, task_id)
        status: TaskStatus = tasks.task_status(database, task_id)
    if as_json:
        context.print_json({"task": task, "status": status.to_json()})
        return
    lines = [
        f"{task['id']}  {task['name']}",
        f"  state:            {status.state} on node {status.node}"
        + ("  OVERDUE" if status.overdue else ""),
        f"  type:             {task['type']}  compression {task['compression']}",
        f"  full cron:        {task['full_backup_cron'] or '-'}  ({task['timezone']})",
        f"  incremental cron: {task['incremental_backup_cron'] or '-'}",
        f"  last full:        {status.last_full_backup or 'never'}",
        f"  last incremental: {status.last_incremental_backup or 'never'}",
        f"  last etag:        {status.last_etag}",
        f"  next backup:      {_next(status)}",
    ]
    if status.schedule_error:
        lines.append(f"  schedule:         {status.schedule_error}")
    if status.running is not None:
        running = status.running
        done = f", {running.progress.percent}% done" if running.progress else ""
        lines.append(f"  running:          {running.kind} since {running.started_at}{done}")
    last = status.last_run
    if last is not None:
        outcome = "skipped (no change)" if last.skipped else last.error or "ok"
        lines.append(
            f"  last run:         {last.kind} at {last.started_at}: {outcome}"
            f" ({last.documents} documents, {last.size_bytes} bytes, {last.duration_ms} ms)"
        )
    for dest in status.destinations:
        reason = f": {dest.error}" if dest.error else ""
        lines.append(f"  destination:      {dest.name} {dest.state}{reason}")
    if task.get("drill") or status.last_drill is not None:
        lines.extend(_drill_lines(task.get("drill") or {}, status))
    typer.echo("\n".join(lines))


def _next(status: TaskStatus) -> str:
    from rookdb.tasks.clock import format_time

    upcoming = status.next_backup
    return f"{format_time(upcoming.at)} {upcoming.kind}" if upcoming else "-"


def _drill_lines(drill: dict[str, Any], status: TaskStatus) -> list[str]:
    when = [
        w for w in ("after each full" if drill.get("after_full") else "", drill.get("cron")) if w
    ]
    verified = status.last_verified_restorable
    lines = [
        f"  drill:            {', '.join(when) or 'on demand'}"
        f" (destination {drill.get('destination', 0)})",
        "  verified restorable: "
        + (f"{verified.at} {verified.run_folder}/{verified.file}" if verified else "never"),
    ]
    if status.restore_time_seconds is not None:
        lines.append(f"  restore time:     {status.restore_time_seconds:.2f} s")
    if status.last_drill_error:
        lines.append(f"  last drill error: {status.last_drill_error}")
    return lines


@tasks_app.command("drill")
def drill_now(
    ctx: typer.Context, database: DatabaseArg, task_id: TaskArg, as_json: JsonFlag = False
) -> None:
    """Drill Now: restore the task's newest chain into scratch and check it (exit 1 on failure).

    Embedded, the command waits for the drill; against a server it queues it and returns.
    """
    with open_tasks(ctx) as tasks:
        if isinstance(tasks, RemoteTasks):  # queued on the server, in the background
            queued = tasks.drill_now(database, task_id)
            if as_json:
                context.print_json(queued)
            else:
                typer.echo(f"queued a restore drill of {task_id}")
            return
        outcome = tasks.run_drill_now(database, task_id)
    if as_json:
        context.print_json(outcome.to_json())
    if outcome.skipped:
        if not as_json:
            typer.echo(f"{task_id}: {outcome.error}")
        return
    if not outcome.passed:
        raise BackupError(f"drill of {task_id} failed: {outcome.error}")
    if not as_json:
        typer.echo(
            f"{task_id}: restorable up to {outcome.run_folder}/{outcome.file}"
            f" (restore {outcome.restore_seconds or 0:.2f} s, {outcome.documents} documents)"
        )


@tasks_app.command("now")
def now(
    ctx: typer.Context,
    database: DatabaseArg,
    task_id: TaskArg,
    full: Annotated[
        bool, typer.Option("--full/--incremental", help="Full (default) or incremental.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Back up now, outside the schedule (which stays as it is).

    Embedded, the command waits for the run; against a server it starts it and returns.
    """
    with open_tasks(ctx) as tasks:
        if isinstance(tasks, RemoteTasks):  # started on the server, in the background
            started = tasks.backup_now(database, task_id, full=full)
            if as_json:
                context.print_json(started)
            else:
                typer.echo(
                    f"started {started['kind']} backup of {task_id} at {started['started_at']}"
                )
            return
        run = tasks.run_backup_now(database, task_id, full=full)
    if as_json:
        context.print_json(run.to_json())
    if run.error:
        # With --json too: a script must not read a failed backup as done.
        raise BackupError(f"backup of {task_id} failed: {run.error}")
    if as_json:
        return
    if run.skipped:
        typer.echo(f"{task_id}: nothing changed since the last backup (skipped)")
    else:
        typer.echo(
            f"{task_id}: {run.kind} backup {run.file}"
            f" ({run.documents} documents, {run.size_bytes} bytes)"
        )


@tasks_app.command("enable")
def enable(ctx: typer.Context, database: DatabaseArg, task_id: TaskArg) -> None:
    """Schedule a task again (fire times missed while disabled are not owed)."""
    with open_tasks(ctx) as tasks:
        tasks.enable(database, task_id)
    _say(ctx, f"enabled {task_id}")


@tasks_app.command("disable")
def disable(ctx: typer.Context, database: DatabaseArg, task_id: TaskArg) -> None:
    """Stop scheduling a task (its definition and status stay)."""
    with open_tasks(ctx) as tasks:
        tasks.disable(database, task_id)
    _say(ctx, f"disabled {task_id}")


@tasks_app.command("delete")
def delete(ctx: typer.Context, database: DatabaseArg, task_id: TaskArg) -> None:
    """Delete a task (backups already on its destinations stay)."""
    with open_tasks(ctx) as tasks:
        tasks.delete(database, task_id)
    _say(ctx, f"deleted {task_id}")


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _say(ctx: typer.Context, message: str) -> None:
    if not context.get(ctx).quiet:
        sys.stderr.write(message + "\n")
