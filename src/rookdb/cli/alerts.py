"""`rookdb alerts ...`: incidents (list, dismiss), channels (add, list, remove, test), deliveries.

Over a data dir (`--data-dir`) the commands call `rookdb.alerts.Alerts` on its
system store; over a server (`--url`) the same operations go through the HTTP
API. Secrets (`--secret`, `--password`, a Slack URL) are sealed where they are
stored and never printed; give them through the environment to keep them out
of the shell history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import quote

import orjson
import typer
from rich.console import Console
from rich.table import Table

from rookdb.cli import context
from rookdb.cli.options import JsonFlag
from rookdb.errors import InvalidInput

alerts_app = typer.Typer(
    name="alerts",
    help="Alerts: incidents (failed, overdue, not restorable backups) and where they are sent.",
    no_args_is_help=True,
)
channels_app = typer.Typer(
    name="channels",
    help="Where alerts go: webhook (signed), Slack-compatible webhook, email (SMTP).",
    no_args_is_help=True,
)
alerts_app.add_typer(channels_app, name="channels")

IdArg = Annotated[str, typer.Argument(metavar="ID", help="The id (see the list command).")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(alerts_app, name="alerts")


class _LocalAlerts:
    """The alert operations on a data dir's system store, answering the API's JSON."""

    def __init__(self, ctx: typer.Context) -> None:
        from rookdb.alerts import Alerts
        from rookdb.security.secrets import MasterKeys
        from rookdb.system import SqliteSystemStore

        # The system store alone, not an Instance: opening an Instance clears the
        # restore staging folder, which a server on the same data dir may be using.
        data_dir = context.usable_data_dir(context.get(ctx).data_dir).resolve()
        try:
            self._system = SqliteSystemStore(data_dir / "system.sqlite")
        except sqlite3.DatabaseError as exc:
            raise context.damaged_data_dir(data_dir, exc) from exc
        self._alerts = Alerts(self._system, MasterKeys(data_dir))

    def incidents(self, include_closed: bool) -> list[dict[str, Any]]:
        return [i.to_json() for i in self._alerts.incidents(include_closed=include_closed)]

    def dismiss(self, incident_id: str) -> dict[str, Any]:
        return self._alerts.dismiss(incident_id).to_json()

    def channels(self) -> list[dict[str, Any]]:
        return self._alerts.channels()

    def add_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._alerts.add_channel(body)

    def remove_channel(self, channel_id: str) -> None:
        self._alerts.remove_channel(channel_id)

    def set_enabled(self, channel_id: str, enabled: bool) -> dict[str, Any]:
        return self._alerts.set_enabled(channel_id, enabled)

    def send_test(self, channel_id: str) -> dict[str, Any]:
        return {"ok": True, "delivery": self._alerts.send_test(channel_id).to_json()}

    def deliveries(self) -> dict[str, Any]:
        return {
            "deliveries": [d.to_json() for d in self._alerts.deliveries()],
            "pending": [d.to_json() for d in self._alerts.pending()],
        }

    def settings(self, change: dict[str, Any] | None) -> dict[str, Any]:
        if change is not None:
            return self._alerts.update_settings(change).to_json()
        return self._alerts.settings().to_json()

    def close(self) -> None:
        self._system.close()


class _RemoteAlerts:
    """The same operations over a rookdb server's HTTP API."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self._client.request(method, "/alerts" + path, **kwargs).content)

    @staticmethod
    def _id(value: str) -> str:
        # Quoted: an id with "/" or ".." must not reach another route.
        if not value:
            raise InvalidInput("give an id (see the list command)", field="id")
        return quote(value, safe="")

    def incidents(self, include_closed: bool) -> list[dict[str, Any]]:
        params = {"all": "true"} if include_closed else None
        result: list[dict[str, Any]] = self._call("GET", "/incidents", params=params)["incidents"]
        return result

    def dismiss(self, incident_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/incidents/{self._id(incident_id)}/dismiss")
        return result

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/channels")["channels"]
        return result

    def add_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/channels", json=body)
        return result

    def remove_channel(self, channel_id: str) -> None:
        self._call("DELETE", f"/channels/{self._id(channel_id)}")

    def set_enabled(self, channel_id: str, enabled: bool) -> dict[str, Any]:
        action = "enable" if enabled else "disable"
        result: dict[str, Any] = self._call("POST", f"/channels/{self._id(channel_id)}/{action}")
        return result

    def send_test(self, channel_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/channels/{self._id(channel_id)}/test")
        return result

    def deliveries(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/deliveries")
        return result

    def settings(self, change: dict[str, Any] | None) -> dict[str, Any]:
        if change is not None:
            result: dict[str, Any] = self._call("PUT", "/settings", json=change)
            return result
        result = self._call("GET", "/settings")
        return result

    def close(self) -> None:
        self._client.close()


@contextmanager
def _open(ctx: typer.Context) -> Iterator[_LocalAlerts | _RemoteAlerts]:
    cli = context.get(ctx)
    target = _RemoteAlerts(cli.client()) if cli.url else _LocalAlerts(ctx)
    try:
        yield target
    finally:
        target.close()


@alerts_app.command("list")
def list_incidents(
    ctx: typer.Context,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Closed incidents too (the history).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """List open (and dismissed) incidents, newest first; --all adds the closed ones.

    Example: rookdb --url http://127.0.0.1:8080 alerts list
    """
    with _open(ctx) as alerts:
        incidents = alerts.incidents(include_closed)
    if as_json:
        context.print_json(incidents)
        return
    if not incidents:
        typer.echo("no incidents" if include_closed else "no open incidents")
        return
    table = Table("id", "state", "kind", "task", "opened", "seen")
    for i in incidents:
        task = f"{i['database']}/{i['task_name'] or i['task_id']}"
        if i["subject"]:
            task += f" → {i['subject']}"
        table.add_row(i["id"], i["state"], i["kind"], task, i["opened_at"], f"{i['occurrences']}x")
    Console().print(table)
    # Reasons are long (a destination's whole error): one line each, under the table.
    for i in incidents:
        if i["reason"]:
            typer.echo(f"{i['id']}: {' '.join(i['reason'].split())}")


@alerts_app.command("dismiss")
def dismiss(ctx: typer.Context, incident_id: IdArg) -> None:
    """Acknowledge an incident: no more reminders; its recovery is still announced.

    Example: rookdb alerts dismiss 3f2a9c1b
    """
    with _open(ctx) as alerts:
        incident = alerts.dismiss(incident_id)
    typer.echo(f"dismissed incident {incident['id']} ({incident['kind']})")


@alerts_app.command("test")
def send_test(ctx: typer.Context, channel_id: IdArg) -> None:
    """Send a test notification to a channel now; exit 1 with the reason when it fails.

    Example: rookdb alerts test 3f2a9c1b
    """
    with _open(ctx) as alerts:
        result = alerts.send_test(channel_id)
    typer.echo(f"test notification delivered to {result['delivery']['channel_name']}")


@alerts_app.command("deliveries")
def deliveries(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List finished deliveries (newest first; failed ones with the reason) and those waiting.

    Example: rookdb alerts deliveries --json
    """
    with _open(ctx) as alerts:
        found = alerts.deliveries()
    if as_json:
        context.print_json(found)
        return
    table = Table("at", "channel", "event", "outcome", "attempts", "error")
    for d in found["deliveries"]:
        table.add_row(
            d["at"], d["channel_name"], d["event"], d["outcome"], str(d["attempts"]),
            d["error"] or "",
        )  # fmt: skip
    Console().print(table)
    if found["pending"]:
        typer.echo(f"{len(found['pending'])} waiting to be sent or retried")


@alerts_app.command("settings")
def settings(
    ctx: typer.Context,
    reminder_minutes: Annotated[
        int | None,
        typer.Option(
            "--reminder-minutes",
            help="Remind of an incident still open every N minutes (0: never).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show or change the server's alert settings.

    Example: rookdb alerts settings --reminder-minutes 240
    """
    change = {"reminder_minutes": reminder_minutes} if reminder_minutes is not None else None
    with _open(ctx) as alerts:
        current = alerts.settings(change)
    if as_json:
        context.print_json(current)
        return
    minutes = current["reminder_minutes"]
    typer.echo(f"reminder: {'never' if minutes == 0 else f'every {minutes} minutes'}")


@channels_app.command("list")
def list_channels(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List alert channels (secrets masked).

    Example: rookdb alerts channels list
    """
    with _open(ctx) as alerts:
        channels = alerts.channels()
    if as_json:
        context.print_json(channels)
        return
    if not channels:
        typer.echo("no alert channels (add one with `rookdb alerts channels add`)")
        return
    table = Table("id", "name", "kind", "sends to", "tasks", "state")
    for c in channels:
        state = "on" if c["enabled"] else f"off: {c['disabled_reason'] or 'turned off'}"
        tasks = ", ".join(c["tasks"]) if c["tasks"] else "all"
        table.add_row(c["id"], c["name"], c["kind"], c["target"], tasks, state)
    Console().print(table)


@channels_app.command("add")
def add_channel(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="KIND", help="webhook, slack or email.")],
    name: Annotated[str, typer.Option("--name", help="A label for the channel.")],
    url: Annotated[str | None, typer.Option("--url", help="webhook/slack: where to POST.")] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="ROOKDB_ALERT_SECRET",
            show_envvar=True,
            help="webhook: the key the X-Rookdb-Signature HMAC is made with.",
        ),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="email: SMTP server.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="email: SMTP port.")] = None,
    security: Annotated[
        str | None, typer.Option("--security", help="email: starttls (default), tls or none.")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="email: login.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password", envvar="ROOKDB_SMTP_PASSWORD", show_envvar=True, help="email: password."
        ),
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="email: sender address.")] = None,
    recipients: Annotated[
        list[str] | None, typer.Option("--to", help="email: a recipient (repeatable).")
    ] = None,
    ca_file: Annotated[
        str | None, typer.Option("--ca-file", help="email: CA (PEM) to trust for the server.")
    ] = None,
    tasks: Annotated[
        list[str] | None,
        typer.Option(
            "--task", help="Only this task: DB/TASK_ID or DB/* (repeatable; default all)."
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for the receiver.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add an alert channel; its secrets are stored sealed and never shown again.

    Example: rookdb alerts channels add webhook --name ops --url https://h.example/hook --secret S
    """
    given = {
        "kind": kind, "name": name, "url": url, "secret": secret, "host": host, "port": port,
        "security": security, "username": username, "password": password, "sender": sender,
        "recipients": recipients, "ca_file": ca_file, "tasks": tasks, "timeout_seconds": timeout,
    }  # fmt: skip
    body = {k: v for k, v in given.items() if v is not None}
    with _open(ctx) as alerts:
        added = alerts.add_channel(body)
    if as_json:
        context.print_json(added)
        return
    typer.echo(f"added {added['kind']} channel {added['id']} ({added['name']}) → {added['target']}")


@channels_app.command("remove")
def remove_channel(ctx: typer.Context, channel_id: IdArg) -> None:
    """Remove a channel (notifications waiting for it are dropped).

    Example: rookdb alerts channels remove 3f2a9c1b
    """
    with _open(ctx) as alerts:
        alerts.remove_channel(channel_id)
    typer.echo(f"removed channel {channel_id}")


@channels_app.command("enable")
def enable_channel(ctx: typer.Context, channel_id: IdArg) -> None:
    """Turn a channel on again (e.g. after its receiver answered 410 Gone and was fixed).

    Example: rookdb alerts channels enable 3f2a9c1b
    """
    with _open(ctx) as alerts:
        alerts.set_enabled(channel_id, True)
    typer.echo(f"channel {channel_id} is on")


@channels_app.command("disable")
def disable_channel(ctx: typer.Context, channel_id: IdArg) -> None:
    """Stop sending to a channel.

    Example: rookdb alerts channels disable 3f2a9c1b
    """
    with _open(ctx) as alerts:
        alerts.set_enabled(channel_id, False)
    typer.echo(f"channel {channel_id} is off")
