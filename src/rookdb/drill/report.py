"""What a restore drill found: per file, for the restored state, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rookdb.backup.catalog import ChainChoice


@dataclass
class FileCheck:
    """One file of the chain: what its trailer records against what the restore got from it."""

    file: str
    kind: str
    type: str
    since_etag: int
    last_etag: int
    size_bytes: int
    expected: dict[str, int]
    found: dict[str, int] = field(default_factory=dict)
    checksum_ok: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.checksum_ok is not False

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "type": self.type,
            "since_etag": self.since_etag,
            "last_etag": self.last_etag,
            "size_bytes": self.size_bytes,
            "expected": self.expected,
            "found": self.found,
            "checksum_ok": self.checksum_ok,
            "ok": self.ok,
            "problems": self.problems,
        }


@dataclass
class IndexCheck:
    """An index definition of the restored database and whether a query over it answered."""

    name: str
    collection: str
    fields: tuple[str, ...]
    answered: bool
    matches: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "collection": self.collection,
            "fields": list(self.fields),
            "answered": self.answered,
            "matches": self.matches,
        }


@dataclass
class DrillReport:
    """The outcome of one drill: passed when nothing at all was found wrong."""

    source: str
    started_at: str
    run_folder: str | None = None
    # Which run folder a folder of run folders gave, and why.
    chain_choice: ChainChoice | None = None
    files: list[FileCheck] = field(default_factory=list)
    last_etag_expected: int | None = None
    last_etag_found: int | None = None
    totals: dict[str, int] = field(default_factory=dict)
    indexes: list[IndexCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    file_failed: str | None = None
    restore_seconds: float = 0.0
    check_seconds: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    bytes_read: int = 0
    bytes_downloaded: int = 0
    scratch_removed: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def last_file(self) -> str | None:
        """The newest file restored (the point the chain was proven restorable up to)."""
        return self.files[-1].file if self.files else None

    @property
    def error(self) -> str | None:
        """The first problem, as one line for a status or an exit message."""
        return self.problems[0] if self.problems else None

    def fail(self, problem: str, file: str | None = None) -> None:
        """Record a problem; the first file named by a problem is the one reported."""
        self.problems.append(problem)
        if self.file_failed is None and file is not None:
            self.file_failed = file

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "source": self.source,
            "started_at": self.started_at,
            "run_folder": self.run_folder,
            "chain_choice": self.chain_choice.to_json() if self.chain_choice else None,
            "last_file": self.last_file,
            "file_failed": self.file_failed,
            "error": self.error,
            "problems": self.problems,
            "last_etag_expected": self.last_etag_expected,
            "last_etag_found": self.last_etag_found,
            "totals": self.totals,
            "files": [f.to_json() for f in self.files],
            "indexes": [i.to_json() for i in self.indexes],
            "restore_seconds": round(self.restore_seconds, 3),
            "check_seconds": round(self.check_seconds, 3),
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "bytes_read": self.bytes_read,
            "bytes_downloaded": self.bytes_downloaded,
            "scratch_removed": self.scratch_removed,
        }
