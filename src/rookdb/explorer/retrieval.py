"""Exploring backups in cold storage (Glacier): ask for a retrieval, see it, read the copy.

A Glacier archive cannot be read in place: a retrieval job must first make it
downloadable (minutes with the Expedited tier, hours with Standard or Bulk).
So the explorer works in three steps, each one call: `retrieval_of(...,
start=True)` requests a retrieval of every file of the run folder it would
read (reusing jobs already asked for, so asking twice costs nothing more);
`retrieval_of(...)` says per file where it stands; once all are ready,
`open_retrieved` downloads each job's output once into the local explorer
cache (`explorer-retrieved`, next to the index cache), checks it against its
SHA-256, and explores that copy as a local folder. Until then a question
says which files wait and how to start or follow their retrieval.

The whole run folder is retrieved, not only the files up to the point: the
chain is planned (and checked for gaps) from every file's header.
"""

from __future__ import annotations

import hashlib
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rookdb.backup.catalog import ListedFile, ListedRunFolder
from rookdb.destinations.base import ArchiveNeedsRetrieval, Destination, RetrievalState
from rookdb.explorer.explorer import BackupExplorer
from rookdb.explorer.files import local_opener
from rookdb.explorer.point import locate_point
from rookdb.explorer.remote import choose_run_folder


@dataclass(frozen=True)
class FileRetrieval:
    """One file of the run folder: "downloaded" (a checked local copy exists), or its
    retrieval's state on the destination."""

    name: str
    size: int
    state: RetrievalState | str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.name, "size": self.size, "state": self.state}


@dataclass(frozen=True)
class ChainRetrieval:
    """Where the retrieval of a run folder stands, file by file."""

    source: str
    run_folder: str
    files: tuple[FileRetrieval, ...]

    @property
    def ready(self) -> bool:
        """Whether every file can be read (downloaded, or its retrieval done)."""
        return all(f.state in ("ready", "downloaded") for f in self.files)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for file in self.files:
            found[file.state] = found.get(file.state, 0) + 1
        return found

    def summary(self) -> str:
        """One line: how many files are in which state."""
        parts = ", ".join(f"{n} {state}" for state, n in sorted(self.counts().items()))
        verdict = "ready to explore" if self.ready else "not ready yet"
        return f"{self.source}: run folder {self.run_folder}: {parts} ({verdict})"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_folder": self.run_folder,
            "ready": self.ready,
            "counts": self.counts(),
            "files": [f.to_json() for f in self.files],
        }


def check_may_start(role: str | None) -> None:
    """Refuse a reader starting retrievals (Forbidden): each is billed on AWS, so starting one
    is an operator's call, like Backup Now; following one is a read. None: no keys in use."""
    from rookdb.errors import Forbidden
    from rookdb.security.roles import Action, allows

    if role is not None and not allows(role, Action.BACKUP_NOW):
        raise Forbidden(
            f"this API key has the role {role!r}; starting a Glacier retrieval (billed by AWS) "
            "needs an operator or admin key; a reader may follow one"
        )


def retrieval_of(
    destination: Destination, leaf: str, until: str | None, shown: str, *, start: bool = False
) -> ChainRetrieval:
    """The retrieval state of the run folder the explorer reads at `until` below `leaf`; with
    `start`, first request the retrieval of every file not yet downloaded (jobs already
    asked for are reused)."""
    listed = choose_run_folder(destination, leaf, until, shown)
    copy = _copy_folder(destination, listed)
    missing = [f for f in listed.files if not (copy / f.name).exists()]
    if start and missing:
        destination.request_retrieval([f.path for f in missing])
    states = destination.retrieval_states([f.path for f in missing]) if missing else {}
    files = tuple(
        FileRetrieval(f.name, f.size, states.get(f.path, "downloaded")) for f in listed.files
    )
    return ChainRetrieval(shown, listed.name, files)


def open_retrieved(
    destination: Destination,
    leaf: str,
    until: str | None,
    shown: str,
    *,
    encryption_key: str | None = None,
) -> BackupExplorer:
    """An explorer of the retrieved copy of the run folder at `until`; ArchiveNeedsRetrieval
    (saying what waits and how to go on) while any file is not retrieved yet."""
    with closing(destination):
        status = retrieval_of(destination, leaf, until, shown)
        if not status.ready:
            raise ArchiveNeedsRetrieval(_waiting(status))
        listed = choose_run_folder(destination, leaf, until, shown)
        copy = _copy_folder(destination, listed)
        for file in listed.files:
            if not (copy / file.name).exists():
                _download(destination, file, copy, encryption_key)
    return BackupExplorer(locate_point(copy, until), local_opener(encryption_key))


def retrieved_root() -> Path:
    """Where retrieved copies are kept: next to the explorer's index cache, in
    `explorer-retrieved` (a temporary folder when $ROOKDB_EXPLORER_CACHE is "off")."""
    from rookdb.explorer.ranges import IndexCache

    cache = IndexCache.default()
    if cache is None:
        return Path(tempfile.gettempdir()) / "rookdb-explorer-retrieved"
    return cache.root.parent / "explorer-retrieved"


def _copy_folder(destination: Destination, listed: ListedRunFolder) -> Path:
    where = hashlib.sha256(f"{destination.name}|{listed.path}".encode()).hexdigest()[:32]
    return retrieved_root() / where / listed.name


def _download(
    destination: Destination, file: ListedFile, copy: Path, encryption_key: str | None
) -> None:
    """The retrieval's output into `copy`, kept only once it matches its SHA-256."""
    from rookdb.backup.format import BackupReader

    copy.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = copy / f".{file.name}.download"
    try:
        destination.get_file(file.path, partial)
        with BackupReader(partial, encryption_key=encryption_key) as reader:
            reader.verify_checksum()
        partial.replace(copy / file.name)
    finally:
        partial.unlink(missing_ok=True)


def _waiting(status: ChainRetrieval) -> str:
    waiting = [f for f in status.files if f.state not in ("ready", "downloaded")]
    states = ", ".join(f"{f.name}: {f.state}" for f in waiting)
    if any(f.state in ("not-requested", "failed") for f in waiting):
        how = (
            "start the retrieval with `rookdb backup retrieve SOURCE` (HTTP: POST "
            '/backups/explore/retrieval with "start": true; Studio: Request retrieval)'
        )
    else:
        how = "the retrieval is under way"
    return (
        f"{status.source}: the backup files of {status.run_folder} are Glacier archives, which "
        f"cannot be read in place: each needs a retrieval first (minutes to hours on AWS). "
        f"Not ready: {states}. {how.capitalize()}; see when it is ready with `rookdb backup "
        "retrieve SOURCE --status`, then ask again: the explorer reads the retrieved copy"
    )
