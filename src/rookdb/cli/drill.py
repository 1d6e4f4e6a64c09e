"""CLI command: `rookdb backup drill SOURCE` (prove a chain restores, by restoring it)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from rookdb.cli import context
from rookdb.cli.options import JsonFlag, KeyOption, SourceOptions, source_credentials
from rookdb.cli.output import progress_bar
from rookdb.errors import InvalidInput

if TYPE_CHECKING:  # the drill and restore code loads when a drill runs, not at every CLI start
    from rookdb.drill import DrillReport


def drill(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A run folder (or one backup file, or a folder of run folders: the newest "
            "chain), or a destination URL such as s3://bucket/prefix/run-folder."
        ),
    ],
    until: Annotated[
        str | None,
        typer.Option("--until", help="Drill the chain up to this file (name) or ISO time."),
    ] = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a chain into a scratch database, check it, delete it (exit 1 on any fault).

    The scratch copy lives in DATA_DIR/.drill-scratch/ and is removed at the end;
    the data dir's databases are never opened.

    Example: rookdb backup drill /backups/2026-11-22-02-00-03.rookdb-shop-A-backup
    """
    cli = context.get(ctx)
    if cli.url:
        raise InvalidInput(
            "`rookdb backup drill` runs on this machine: use --data-dir (for its scratch "
            "folder) instead of --url",
            field="url",
        )
    from rookdb.drill import run_drill, scratch_root
    from rookdb.restore.source import resolve_source

    target = resolve_source(source, source_credentials(source, source_options))
    with progress_bar(ctx, "drilling", in_bytes=True) as update:
        report = run_drill(
            target,
            scratch_root(cli.data_dir),
            until=until,
            encryption_key=encryption_key,
            progress=update,
        )
    if as_json:
        context.print_json(report.to_json())
    elif not cli.quiet or not report.passed:
        print_report(report)
    if not report.passed:
        named = f" ({report.file_failed})" if report.file_failed else ""
        sys.stderr.write(f"error: drill failed{named}: {report.error}\n")
        raise typer.Exit(1)


def print_report(report: DrillReport) -> None:
    """The files of the chain, expected against found, then the verdict and its cost."""
    from rich.console import Console  # only where a table is drawn: rich is slow to import
    from rich.table import Table

    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    if report.chain_choice is not None and report.chain_choice.was_a_choice:
        out.print(report.chain_choice.describe(), highlight=False)
    table = Table(title=report.run_folder or report.source, title_justify="left")
    for column in ("file", "kind", "checksum", "documents", "deletes", "attachments", "result"):
        table.add_column(column)
    for check in report.files:
        table.add_row(
            check.file,
            f"{check.kind} {check.type}",
            {True: "ok", False: "BAD", None: "-"}[check.checksum_ok],
            _pair(check.expected, check.found, "documents"),
            _pair(check.expected, check.found, "tombstones"),
            _pair(check.expected, check.found, "attachments"),
            "ok" if check.ok else "[red]FAILED[/red]",
        )
    out.print(table)
    totals = ", ".join(f"{v} {k}" for k, v in report.totals.items()) or "-"
    indexes = ", ".join(
        f"{i.name} ({'answers' if i.answered else 'FAILS'})" for i in report.indexes
    )
    out.print(f"restored: {totals}; last etag {report.last_etag_found}", highlight=False)
    if indexes:
        out.print(f"indexes: {indexes}", highlight=False)
    out.print(
        f"restore {report.restore_seconds:.2f} s, checks {report.check_seconds:.2f} s, "
        f"CPU {report.cpu_seconds:.2f} s, read {report.bytes_read:,} bytes, "
        f"scratch removed: {'yes' if report.scratch_removed else 'NO'}",
        highlight=False,
    )
    verdict = "[green]PASSED[/green]" if report.passed else "[red]FAILED[/red]"
    out.print(f"drill {verdict}: {report.source}", highlight=False)
    for problem in report.problems:
        out.print(f"[red]problem:[/red] {problem}", highlight=False)


def _pair(expected: dict[str, int], found: dict[str, int], name: str) -> str:
    """'expected/found' for one count (found is empty when the file was never applied)."""
    wanted = expected.get(name, 0)
    if name not in found:
        return str(wanted)
    return f"{wanted}/{found[name]}"
