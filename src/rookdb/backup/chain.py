"""Run folders as chains: list and order their files, check continuity, verify checksums.

A chain is one full backup (or snapshot) followed by incrementals whose etag
ranges follow on with no gap: each file's ``since_etag`` is at most the
previous file's ``last_etag`` (equal in a normal chain; an overlap is
harmless because replaying a change twice gives the same state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rookdb.backup import naming
from rookdb.backup.format import BackupReader
from rookdb.errors import BackupCorrupted, BackupError, EncryptionKeyError
from rookdb.storage.record_kinds import kind_of


@dataclass(frozen=True)
class BackupFileInfo:
    """One backup file as its header and trailer describe it."""

    path: Path
    file_name: str
    database: str
    database_id: str
    node: str
    kind: str
    type: str
    since_etag: int
    last_etag: int
    created_at: str
    compression: str
    encrypted: bool
    size_bytes: int
    counts: dict[str, int]
    sha256: str

    @property
    def is_full(self) -> bool:
        return self.kind == "full"

    @property
    def created(self) -> datetime:
        """`created_at` as a time (the earliest time when the header's text is not one)."""
        return naming.parse_time(self.created_at) or datetime.min.replace(tzinfo=UTC)

    def to_json(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "database": self.database,
            "database_id": self.database_id,
            "node": self.node,
            "kind": self.kind,
            "type": self.type,
            "since_etag": self.since_etag,
            "last_etag": self.last_etag,
            "created_at": self.created_at,
            "compression": self.compression,
            "encrypted": self.encrypted,
            "size_bytes": self.size_bytes,
            "counts": self.counts,
        }


@dataclass(frozen=True)
class RunFolderInfo:
    """A run folder: its readable files in chain order and what is wrong with it."""

    path: Path
    name: str
    files: tuple[BackupFileInfo, ...]
    unreadable: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def last_etag(self) -> int:
        """The etag the chain reaches (where the next incremental continues)."""
        return max((f.last_etag for f in self.files), default=0)

    @property
    def database(self) -> str | None:
        return self.files[0].database if self.files else None

    @property
    def database_id(self) -> str | None:
        return self.files[0].database_id if self.files else None

    @property
    def created_at(self) -> str | None:
        return self.files[0].created_at if self.files else None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "run_folder": self.name,
            "path": str(self.path),
            "database": self.database,
            "database_id": self.database_id,
            "last_etag": self.last_etag,
            "size_bytes": sum(f.size_bytes for f in self.files),
            "files": [f.to_json() for f in self.files],
            "problems": list(self.problems),
        }


def read_file_info(path: Path) -> BackupFileInfo:
    """Header and trailer of one file (no checksum pass); BackupCorrupted when unreadable."""
    with _open(path, None) as reader:
        return file_info(reader, path)


def file_info(reader: BackupReader, path: Path) -> BackupFileInfo:
    """What an open reader's header and trailer say of the file at `path`."""
    h = reader.header
    return BackupFileInfo(
        path=path,
        file_name=path.name,
        database=h.database,
        database_id=h.database_id,
        node=h.node,
        kind=h.kind,
        type=h.type,
        since_etag=h.since_etag,
        last_etag=h.last_etag,
        created_at=h.created_at,
        compression=h.compression,
        encrypted=h.encrypted,
        size_bytes=reader.size,
        counts=dict(reader.trailer.counts),
        sha256=reader.trailer.sha256,
    )


def _open(path: Path, key: str | None) -> BackupReader:
    try:
        return BackupReader(path, encryption_key=key)
    except EncryptionKeyError:
        if key is None:
            # Listing needs no key: reopen skipping the cipher set-up.
            return _KeylessReader(path)
        raise


class _KeylessReader(BackupReader):
    """A reader for header, trailer and checksum only (encrypted files, no key)."""

    def _make_cipher(self, user_key: str | None) -> None:
        return None


def backup_files_in(folder: Path) -> list[Path]:
    """Finished backup files directly in `folder` (in-progress files are ignored)."""
    try:
        return sorted(
            p for p in folder.iterdir() if p.is_file() and naming.is_backup_file_name(p.name)
        )
    except OSError as exc:
        raise BackupError(f"cannot list backup folder {folder}: {exc.strerror or exc}") from exc


def order_chain(files: list[BackupFileInfo]) -> list[BackupFileInfo]:
    """Full first, then incrementals by the etag range they cover."""
    fulls = sorted((f for f in files if f.is_full), key=lambda f: f.file_name)
    incrementals = sorted(
        (f for f in files if not f.is_full),
        key=lambda f: (f.since_etag, f.last_etag, f.file_name),
    )
    return fulls + incrementals


def chain_problems(files: list[BackupFileInfo]) -> list[str]:
    """What breaks the chain formed by `files` (already in chain order)."""
    if not files:
        return ["no backup files found"]
    problems: list[str] = []
    first = files[0]
    if not first.is_full:
        problems.append(
            f"the chain has no full backup or snapshot; it starts with {first.file_name}"
        )
    previous = first
    for current in files[1:]:
        if current.is_full:
            problems.append(f"{current.file_name} is a second full backup in the same run folder")
            continue
        if current.database_id != first.database_id:
            problems.append(
                f"{current.file_name} belongs to another database "
                f"({current.database}, id {current.database_id[:8]}) than "
                f"{first.file_name} ({first.database}, id {first.database_id[:8]})"
            )
            continue
        if current.since_etag > previous.last_etag:
            problems.append(
                f"gap in the chain before {current.file_name}: it starts after etag "
                f"{current.since_etag} but {previous.file_name} ends at etag "
                f"{previous.last_etag} (an incremental is missing)"
            )
        previous = current
    return problems


def read_run_folder(path: Path) -> RunFolderInfo:
    """List a run folder: readable files in chain order, unreadable ones, chain problems."""
    infos: list[BackupFileInfo] = []
    unreadable: dict[str, str] = {}
    for file in backup_files_in(path):
        try:
            infos.append(read_file_info(file))
        except BackupError as exc:
            unreadable[file.name] = exc.message
    ordered = order_chain(infos)
    problems = [f"{name}: {message}" for name, message in unreadable.items()]
    problems += chain_problems(ordered)
    return RunFolderInfo(path, path.name, tuple(ordered), unreadable, tuple(problems))


def verify_run_folder(
    path: Path,
    *,
    encryption_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunFolderInfo:
    """Read every byte of every file: checksums, blocks, records (decrypted when a key is given)."""
    info = read_run_folder(path)
    problems = list(info.problems)
    for file in info.files:
        try:
            verify_file(file.path, encryption_key=encryption_key, progress=progress)
        except BackupError as exc:
            problems.append(f"{file.file_name}: {exc.message}")
    return RunFolderInfo(info.path, info.name, info.files, info.unreadable, tuple(problems))


def verify_file(
    path: Path,
    *,
    encryption_key: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Check one file completely; raise BackupCorrupted / EncryptionKeyError on a fault."""
    reader = _open(path, encryption_key)
    with reader:
        reader.verify_checksum(progress)
        if isinstance(reader, _KeylessReader):
            return  # without the key only the checksum can be checked
        counted: dict[str, int] = {}
        if reader.header.type == "snapshot":
            size = sum(len(chunk) for chunk in reader.file_chunks())
            if size != reader.trailer.counts.get("file_bytes", size):
                raise BackupCorrupted(f"backup file {path.name} is corrupted: wrong file size")
            return
        for record in reader.records():
            of = getattr(record, "of", None)
            kind = kind_of(record.kind, of)
            if kind is None:
                raise BackupCorrupted(
                    f"backup file {path.name} is corrupted: it holds a {record.kind} record "
                    f"of {of!r}"
                )
            counted[kind.count] = counted.get(kind.count, 0) + 1
        expected = {k: v for k, v in reader.trailer.counts.items() if v}
        if counted != expected:
            raise BackupCorrupted(
                f"backup file {path.name} is corrupted: record counts {counted} "
                f"do not match the trailer {expected}"
            )
