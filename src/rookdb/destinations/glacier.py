"""Amazon S3 Glacier (vault) destination, through boto3.

Glacier knows archives by opaque ids, not names, and its own inventory is
refreshed about once a day; so rookdb keeps an inventory file (name -> archive
id, size, date) next to the task's state and answers ``list`` from it. Each
archive's description is its name, so ``rebuild_inventory`` can recover the
file from Glacier's inventory job on a fresh machine.

Reading an archive back needs a retrieval job first (minutes with Expedited,
hours with Standard or Bulk): ``get_file`` starts one (or reuses the pending
one), waits up to ``retrieval_timeout_seconds`` and then downloads the output.
Uploads use single-request ``upload_archive`` (up to 4 GB); multipart archive
upload is not implemented because no local server can verify it. URLs:
``glacier://vault/prefix/run-folder``.

boto3 is imported when a destination is built, never with this module: the
registry and the Studio read ``GlacierConfig`` without it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult

from pydantic import Field, SecretStr

from rookdb.destinations.base import (
    PROBE_PREFIX,
    ArchiveNeedsRetrieval,
    Destination,
    Progress,
    RemoteFile,
    RetrievalState,
    clean_remote_path,
    file_size,
    join_key,
    probe_step,
)
from rookdb.destinations.registry import Backend, split_leaf
from rookdb.destinations.schema import ConfigModel, EndpointUrl, NonEmpty
from rookdb.errors import DestinationError, NotFound, RookError

MAX_SINGLE_UPLOAD = 4 * 1024**3
_CHUNK = 1024 * 1024
# One lock per inventory file: parallel uploads in this process must not lose entries.
_INVENTORY_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class GlacierConfig(ConfigModel):
    """An Amazon S3 Glacier vault (archives need a retrieval job before download)."""

    title = "Amazon Glacier"
    label = "Glacier"
    label_field = "vault"
    secret_scope = ("endpoint_url", "region", "vault", "access_key_id")

    kind: Literal["glacier"] = "glacier"
    vault: NonEmpty = Field(title="Vault")
    region: str | None = Field(None, title="Region")
    prefix: str = Field("", title="Prefix")
    access_key_id: str | None = Field(None, title="Access key id")
    secret_access_key: SecretStr | None = Field(None, title="Secret access key")
    session_token: SecretStr | None = None
    endpoint_url: EndpointUrl = Field(None, title="Endpoint URL")
    # Where the archive-id inventory is kept; default: the task's state folder.
    inventory_path: str | None = None
    # How long get_file waits for a retrieval job (real Glacier: hours).
    retrieval_tier: Literal["Expedited", "Standard", "Bulk"] = "Standard"
    retrieval_timeout_seconds: float = Field(default=600.0, gt=0)
    retrieval_poll_seconds: float = Field(default=1.0, gt=0)


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``glacier://vault/prefix/run``: vault, prefix, leaf ``run``."""
    prefix, leaf = split_leaf(parts)
    return {"vault": parts.netloc, "prefix": prefix}, leaf


class GlacierDestination(Destination):
    """Files are archives in ``vault``; names and ids live in the inventory file."""

    kind = "glacier"
    local_listing = True

    def __init__(
        self,
        config: GlacierConfig,
        inventory_path: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from rookdb.destinations import aws

        self.config = config
        self.vault = config.vault
        self.prefix = clean_remote_path(config.prefix, allow_empty=True)
        self.inventory_path = Path(inventory_path)
        self._sleep = sleep
        self._clock = clock
        self._client = aws.client(
            "glacier",
            region=config.region,
            endpoint_url=config.endpoint_url,
            access_key_id=config.access_key_id,
            secret_access_key=config.secret_access_key,
            session_token=config.session_token,
            timeout=config.timeout_seconds,
        )

    @property
    def name(self) -> str:
        """Display name."""
        return f"Glacier ({self.vault}/{self.prefix})" if self.prefix else f"Glacier ({self.vault})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Upload one archive (streamed from disk), record its id, then drop the replaced one."""
        key = self._key(remote_path)
        size = file_size(local_path)
        if size > MAX_SINGLE_UPLOAD:
            raise DestinationError(
                f"{self.name}: {remote_path} is {size} bytes; archives over 4 GB need a "
                "multipart upload, which rookdb does not implement yet"
            )
        try:
            with open(local_path, "rb") as body:
                answer = self._client.upload_archive(
                    vaultName=self.vault, archiveDescription=key, body=body
                )
        except Exception as exc:
            raise self._error(exc, f"upload {remote_path}") from exc
        entry = {
            "archive_id": answer["archiveId"],
            "size": size,
            "created": datetime.now(UTC).isoformat(),
            "checksum": answer.get("checksum"),
        }
        with self._inventory() as archives:
            previous = archives.get(key)
            archives[key] = entry
            stale = _unreferenced(previous, archives)
        if stale:
            self._delete_archive(stale, remote_path)
        if progress is not None:
            progress(size)  # one request: the whole file is sent at once

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Archives recorded in the inventory whose relative path starts with prefix."""
        root = f"{self.prefix}/" if self.prefix else ""
        wanted = root + prefix.lstrip("/")
        with self._inventory(write=False) as archives:
            found = [
                RemoteFile(key[len(root) :], int(entry["size"]), _parse_time(entry.get("created")))
                for key, entry in archives.items()
                if key.startswith(wanted) and key.startswith(root)
            ]
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Start (or reuse) a retrieval job, wait for it, then stream the archive to local_path."""
        key = self._key(remote_path)
        with self._inventory(write=False) as archives:
            entry = archives.get(key)
        if entry is None:
            raise NotFound(
                f"{self.name}: no archive {clean_remote_path(remote_path)} in the inventory"
            )
        job_id = self._retrieval_job(key, entry)
        self._wait_for(job_id, f"retrieval of {remote_path}")
        local_path = Path(local_path)
        local_path.parent.mkdir(parents=True, exist_ok=True)
        partial = local_path.with_name(local_path.name + ".part")
        try:
            output = self._client.get_job_output(vaultName=self.vault, jobId=job_id)
            with open(partial, "wb") as out:
                for chunk in output["body"].iter_chunks(_CHUNK):
                    out.write(chunk)
            partial.replace(local_path)
        except Exception as exc:
            raise self._error(exc, f"download {remote_path}") from exc
        finally:
            partial.unlink(missing_ok=True)

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """Refused: an archive is readable only through a retrieval job (minutes to hours)."""
        raise ArchiveNeedsRetrieval(
            f"{self.name}: {clean_remote_path(remote_path)} is a Glacier archive; it cannot be "
            "read in place and needs a retrieval first (minutes to hours on AWS)"
        )

    def delete(self, remote_path: str) -> None:
        """Delete the archive and its inventory entry; a missing one is fine."""
        key = self._key(remote_path)
        with self._inventory() as archives:
            entry = archives.pop(key, None)
            stale = _unreferenced(entry, archives)
        if stale:
            self._delete_archive(stale, remote_path)

    def check_access(self) -> None:
        """Check the vault exists, then upload and delete a probe archive.

        The probe is not read back: a Glacier read is a retrieval job that may take hours.
        """
        probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        archive: dict[str, str] = {}

        def write() -> None:
            try:
                self._client.describe_vault(vaultName=self.vault)
                answer = self._client.upload_archive(
                    vaultName=self.vault, archiveDescription=probe, body=b"rookdb access probe"
                )
            except Exception as exc:
                raise self._error(exc, "write a probe archive") from exc
            archive["id"] = answer["archiveId"]

        probe_step(self, "write", write)
        probe_step(self, "delete", lambda: self._delete_archive(archive["id"], probe))

    def rebuild_listing(self) -> int:
        """Recreate the inventory file from Glacier's inventory job (see rebuild_inventory)."""
        return self.rebuild_inventory()

    def request_retrieval(self, remote_paths: Sequence[str]) -> int:
        """Start (or reuse) a retrieval job for every archive; get_file then waits for its own."""
        for remote_path in remote_paths:
            key = self._key(remote_path)
            with self._inventory(write=False) as archives:
                entry = archives.get(key)
            if entry is None:
                raise NotFound(
                    f"{self.name}: no archive {clean_remote_path(remote_path)} in the inventory"
                )
            self._retrieval_job(key, entry)
        return len(remote_paths)

    def retrieval_states(self, remote_paths: Sequence[str]) -> dict[str, RetrievalState]:
        """Each archive's retrieval job, asked without waiting: "not-requested" (none, or an
        expired one), "in-progress", "ready" (its output can be downloaded) or "failed"."""
        states: dict[str, RetrievalState] = {}
        with self._inventory(write=False) as archives:
            jobs = {
                p: (archives.get(self._key(p)) or {}).get("retrieval_job") for p in remote_paths
            }
        for remote_path, job_id in jobs.items():
            if not job_id:
                states[remote_path] = "not-requested"
                continue
            try:
                job = self._client.describe_job(vaultName=self.vault, jobId=job_id)
            except Exception:  # an expired job id: the retrieval must be asked again
                states[remote_path] = "not-requested"
                continue
            if job.get("StatusCode") == "Failed":
                states[remote_path] = "failed"
            else:
                states[remote_path] = "ready" if job.get("Completed") else "in-progress"
        return states

    def rebuild_inventory(self) -> int:
        """Fill the inventory file from Glacier's own inventory job; returns the archive count.

        Glacier refreshes that inventory about daily, so very recent archives may be missing
        from it; entries the file already holds are kept.
        """
        try:
            job = self._client.initiate_job(
                vaultName=self.vault, jobParameters={"Type": "inventory-retrieval"}
            )
        except Exception as exc:
            raise self._error(exc, "start an inventory job") from exc
        self._wait_for(job["jobId"], "the inventory job")
        try:
            output = self._client.get_job_output(vaultName=self.vault, jobId=job["jobId"])
            listing = json.loads(output["body"].read())
        except Exception as exc:
            raise self._error(exc, "read the inventory") from exc
        rebuilt: dict[str, dict[str, Any]] = {}
        for archive in listing.get("ArchiveList", []):
            name = archive.get("ArchiveDescription") or ""
            if not name or name.startswith(PROBE_PREFIX):
                continue
            rebuilt[name] = {
                "archive_id": archive["ArchiveId"],
                "size": int(archive.get("Size", 0)),
                "created": archive.get("CreationDate"),
                "checksum": archive.get("SHA256TreeHash"),
            }
        with self._inventory() as archives:
            # Entries already here stay: Glacier's inventory is up to a day old, so an
            # archive this machine uploaded since would otherwise be forgotten.
            archives.update(rebuilt)
            return len(archives)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _key(self, remote_path: str) -> str:
        return join_key(self.prefix, clean_remote_path(remote_path))

    def _retrieval_job(self, key: str, entry: dict[str, Any]) -> str:
        # Reuse a job started by an earlier attempt: a restore that timed out
        # waiting must not start (and pay for) a new retrieval each time.
        pending = entry.get("retrieval_job")
        if pending:
            try:
                job = self._client.describe_job(vaultName=self.vault, jobId=pending)
                if job.get("StatusCode") != "Failed":
                    return str(pending)
            except Exception:  # an expired job id just means "start a new one"
                pass
        try:
            job = self._client.initiate_job(
                vaultName=self.vault,
                jobParameters={
                    "Type": "archive-retrieval",
                    "ArchiveId": entry["archive_id"],
                    "Tier": self.config.retrieval_tier,
                },
            )
        except Exception as exc:
            raise self._error(exc, f"start the retrieval of {key}") from exc
        with self._inventory() as archives:
            if key in archives:
                archives[key]["retrieval_job"] = job["jobId"]
        return str(job["jobId"])

    def _wait_for(self, job_id: str, what: str) -> None:
        deadline = self._clock() + self.config.retrieval_timeout_seconds
        while True:
            try:
                job = self._client.describe_job(vaultName=self.vault, jobId=job_id)
            except Exception as exc:
                raise self._error(exc, f"follow {what}") from exc
            if job.get("Completed"):
                if job.get("StatusCode") == "Failed":
                    reason = job.get("StatusMessage") or "no reason given"
                    raise DestinationError(f"{self.name}: {what} failed: {reason}")
                return
            if self._clock() >= deadline:
                raise DestinationError(
                    f"{self.name}: {what} (job {job_id}) is not done after "
                    f"{self.config.retrieval_timeout_seconds:g} s. Glacier restores need a "
                    "retrieval first (hours for the Standard tier); run the restore again later "
                    "and it will pick up this job"
                )
            self._sleep(self.config.retrieval_poll_seconds)

    def _delete_archive(self, archive_id: str, remote_path: str) -> None:
        try:
            self._client.delete_archive(vaultName=self.vault, archiveId=archive_id)
        except Exception as exc:
            raise self._error(exc, f"delete {remote_path}") from exc

    @contextmanager
    def _inventory(self, *, write: bool = True) -> Iterator[dict[str, dict[str, Any]]]:
        path = self.inventory_path.resolve()
        with _LOCKS_GUARD:
            lock = _INVENTORY_LOCKS.setdefault(path, threading.Lock())
        with lock:
            document = _read_inventory(path, self.vault)
            archives: dict[str, dict[str, Any]] = document["archives"]
            yield archives
            if write:
                _write_inventory(path, document)

    def _error(self, exc: BaseException, action: str) -> RookError:
        from rookdb.destinations import aws

        if isinstance(exc, RookError):
            return exc
        return aws.translate(exc, name=self.name, action=action, container=f"vault '{self.vault}'")


def _unreferenced(entry: dict[str, Any] | None, archives: dict[str, dict[str, Any]]) -> str | None:
    # The archive id of a replaced or deleted entry, unless another name still
    # points at it (identical content may share an id on some servers).
    if entry is None:
        return None
    archive_id = str(entry["archive_id"])
    if any(e["archive_id"] == archive_id for e in archives.values()):
        return None
    return archive_id


def _read_inventory(path: Path, vault: str) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {"format": 1, "vault": vault, "archives": {}}
    except (OSError, ValueError) as exc:
        raise DestinationError(
            f"Glacier ({vault}): the inventory file {path} cannot be read ({exc}); "
            "rebuild it from Glacier's inventory"
        ) from exc
    document.setdefault("archives", {})
    return document


def _write_inventory(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    temp.write_text(json.dumps(document, indent=1, sort_keys=True))
    os.replace(temp, path)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def default_inventory_path(config: GlacierConfig, state_dir: Path | None) -> Path:
    """The inventory file: config's path, else the task's state folder, else ~/.rookdb."""
    if config.inventory_path:
        return Path(config.inventory_path).expanduser()
    filename = f"glacier-{config.region or 'us-east-1'}-{config.vault}.json"
    base = state_dir if state_dir is not None else Path.home() / ".rookdb" / "glacier"
    return Path(base) / filename


def create(config: GlacierConfig, state_dir: Path | None = None) -> GlacierDestination:
    """Build from a validated config (registry entry point)."""
    return GlacierDestination(config, default_inventory_path(config, state_dir))


BACKEND = Backend("glacier", ("glacier",), GlacierConfig, parse_url, create)
