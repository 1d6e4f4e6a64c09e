"""FTP / FTPS destination, through the standard library's ftplib.

A file is stored under a temporary name and renamed into place once the
transfer finished, so a half-sent file never looks like a backup. Each call
opens its own control connection: parallel uploads never share one. URLs:
``ftp://user:password@host:port/folder/run-folder``; ``ftps://`` turns TLS on.
"""

from __future__ import annotations

import ftplib
import posixpath
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, unquote

from pydantic import Field, SecretStr

from rookdb.destinations.base import (
    Destination,
    Progress,
    RemoteFile,
    clean_remote_path,
    file_size,
)
from rookdb.destinations.registry import Backend, split_leaf
from rookdb.destinations.schema import ConfigModel, NonEmpty, secret
from rookdb.errors import (
    DestinationAccessDenied,
    DestinationError,
    DestinationUnavailable,
    InvalidInput,
    NotFound,
)
from rookdb.partial import UPLOAD_PREFIX
from rookdb.url_masking import masked_url

TEMP_MARKER = UPLOAD_PREFIX  # the same temporary names as a local upload
_BLOCK = 64 * 1024  # larger blocks measured slower against pyftpdlib
_Files = list[RemoteFile]  # an alias: inside the class, "list" is the method


class FtpConfig(ConfigModel):
    """A folder on an FTP or FTPS (explicit TLS) server."""

    title = "FTP / FTPS"
    label = "FTP"
    label_field = "host"
    # TLS settings too: a password kept across a switch to plain FTP would cross in clear.
    secret_scope = ("host", "port", "user", "tls", "tls_verify", "tls_ca_file")

    kind: Literal["ftp"] = "ftp"
    host: NonEmpty = Field(title="Host", examples=["ftp.example.com"])
    port: int = Field(default=21, ge=1, le=65535, title="Port", examples=[21])
    user: str = Field("anonymous", title="User", examples=["anonymous"])
    password: SecretStr | None = Field(None, title="Password")
    folder: str = Field("/", title="Folder", examples=["/backups"])
    tls: bool = Field(False, title="Use TLS (FTPS)")
    # Verify the server certificate (against the system CAs or tls_ca_file).
    tls_verify: bool = True
    tls_ca_file: str | None = None


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``ftp[s]://user:password@host:port/folder/run``: server, login, folder, leaf ``run``."""
    prefix, leaf = split_leaf(parts)
    given: dict[str, Any] = {
        "host": parts.hostname or "",
        "folder": "/" + prefix,
        "tls": parts.scheme.lower() == "ftps",
    }
    try:
        port = parts.port
    except ValueError:  # not a number, or not 0-65535
        raise InvalidInput(
            f"{masked_url(url)}: the port must be a number from 1 to 65535", field="url"
        ) from None
    if port:
        given["port"] = port
    if parts.username:
        given["user"] = unquote(parts.username)
    if parts.password:
        given["password"] = unquote(parts.password)
    return given, leaf


class FtpDestination(Destination):
    """Files live under ``folder`` on an FTP server; ``tls`` switches to explicit FTPS."""

    kind = "ftp"
    parallel_reads = 4  # each read is its own connection; servers often cap connections per address

    def __init__(self, config: FtpConfig) -> None:
        self.config = config
        self.folder = "/" + clean_remote_path(config.folder, allow_empty=True)

    @property
    def name(self) -> str:
        """Display name."""
        scheme = "FTPS" if self.config.tls else "FTP"
        return f"{scheme} ({self.config.host}:{self.config.port}{self.folder})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Send under a temporary name in the target folder, then rename into place."""
        target = self._path(remote_path)
        file_size(local_path)
        directory, filename = posixpath.split(target)
        temp = posixpath.join(directory, f"{TEMP_MARKER}{uuid.uuid4().hex}-{filename}")
        with self._session(f"upload {remote_path}") as ftp:
            self._make_dirs(ftp, directory)
            try:
                with open(local_path, "rb") as stream:
                    report = (lambda block: progress(len(block))) if progress else None
                    ftp.storbinary(f"STOR {temp}", stream, _BLOCK, report)
                self._rename(ftp, temp, target)
            except BaseException:
                _quietly_delete(ftp, temp)
                raise

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Files whose relative path starts with prefix (walks only the folders it names)."""
        prefix = prefix.lstrip("/")
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        found: list[RemoteFile] = []
        with self._session("list files") as ftp:
            self._walk(ftp, base, prefix, found)
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Download into local_path (via a partial file renamed at the end)."""
        source = self._path(remote_path)
        local_path = Path(local_path)
        local_path.parent.mkdir(parents=True, exist_ok=True)
        partial = local_path.with_name(local_path.name + ".part")
        try:
            with self._session(f"download {remote_path}") as ftp:
                try:
                    with open(partial, "wb") as out:
                        ftp.retrbinary(f"RETR {source}", out.write, _BLOCK)
                except ftplib.error_perm as exc:
                    if str(exc).startswith("550"):
                        missing = clean_remote_path(remote_path)
                        raise NotFound(f"{self.name}: no file {missing}") from exc
                    raise
            partial.replace(local_path)
        finally:
            partial.unlink(missing_ok=True)

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """RETR from `offset` (the REST command), stopped once `length` bytes came."""
        if length <= 0:
            return b""
        source = self._path(remote_path)
        with self._session(f"read {remote_path}") as ftp:
            ftp.voidcmd("TYPE I")
            try:
                data = ftp.transfercmd(f"RETR {source}", rest=offset)
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    raise NotFound(
                        f"{self.name}: no file {clean_remote_path(remote_path)}"
                    ) from exc
                raise
            received = bytearray()
            with data:
                while len(received) < length:
                    piece = data.recv(min(_BLOCK, length - len(received)))
                    if not piece:
                        break
                    received += piece
                if isinstance(data, ssl.SSLSocket) and len(received) >= length:
                    # Closing a TLS data connection mid-file: skip the unwrap a
                    # server that aborts the transfer would never answer.
                    data.close()
            # Stopping early makes the server answer 426 (transfer aborted): expected here.
            with suppress(ftplib.error_temp, ftplib.error_perm, ftplib.error_reply, EOFError):
                ftp.voidresp()
            return bytes(received)

    def delete(self, remote_path: str) -> None:
        """Delete the file; a missing file is fine."""
        with self._session(f"delete {remote_path}") as ftp:
            try:
                ftp.delete(self._path(remote_path))
            except ftplib.error_perm as exc:
                if not str(exc).startswith("550"):
                    raise

    def remove_abandoned_uploads(self, grace_seconds: float) -> tuple[str, ...]:
        """Delete uploads a killed process left under a temporary name, untouched for
        `grace_seconds` (a live upload keeps its file's time fresh), and run folders
        they leave empty."""
        partial: _Files = []
        with self._session("list files") as ftp:
            self._walk(ftp, "", "", [], partial)
            cutoff = datetime.now(UTC).timestamp() - grace_seconds
            removed = []
            for file in partial:
                if file.modified is None or file.modified.timestamp() > cutoff:
                    continue
                _quietly_delete(ftp, self._path(file.path))
                removed.append(file.path)
            for folder in sorted({p.rsplit("/", 1)[0] for p in removed if "/" in p}):
                with suppress(ftplib.Error, OSError, EOFError):
                    ftp.rmd(self._path(folder))  # refused while anything else is in it
        return tuple(removed)

    def _path(self, remote_path: str) -> str:
        return posixpath.join(self.folder, clean_remote_path(remote_path))

    def _connect(self) -> ftplib.FTP:
        timeout = self.config.timeout_seconds
        ftp: ftplib.FTP
        if self.config.tls:
            context = ssl.create_default_context(cafile=self.config.tls_ca_file)
            if not self.config.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            ftp = ftplib.FTP_TLS(context=context, timeout=timeout)
        else:
            ftp = ftplib.FTP(timeout=timeout)
        ftp.connect(self.config.host, self.config.port)
        try:
            ftp.login(self.config.user, secret(self.config.password) or "")
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()  # encrypt the data connections too, not only the login
        except BaseException:
            ftp.close()
            raise
        return ftp

    @contextmanager
    def _session(self, action: str) -> Iterator[ftplib.FTP]:
        ftp: ftplib.FTP | None = None
        try:
            ftp = self._connect()
            yield ftp
        except (NotFound, DestinationError):
            raise
        except ftplib.error_perm as exc:
            reply = str(exc)
            if reply.startswith("530"):
                raise DestinationAccessDenied(
                    f"{self.name}: login refused for user '{self.config.user}' ({reply})"
                ) from exc
            if reply[:3] in ("550", "553", "532", "450"):
                raise DestinationAccessDenied(
                    f"{self.name}: no permission to {action} in {self.folder} ({reply})"
                ) from exc
            raise DestinationError(f"{self.name}: could not {action}: {reply}") from exc
        except ftplib.error_temp as exc:
            raise DestinationUnavailable(f"{self.name}: could not {action}: {exc}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise DestinationAccessDenied(
                f"{self.name}: the server's TLS certificate is not trusted ({exc.verify_message})"
            ) from exc
        except (OSError, EOFError, ftplib.error_reply, ftplib.error_proto) as exc:
            # Refused, reset, timed out, TLS torn down mid-transfer: worth a retry.
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise DestinationUnavailable(f"{self.name}: could not {action}: {reason}") from exc
        finally:
            if ftp is not None:
                _close(ftp)

    def _make_dirs(self, ftp: ftplib.FTP, directory: str) -> None:
        # mkdir -p: try each level; an existing folder answers 550 to MKD.
        path = ""
        for part in [p for p in directory.split("/") if p]:
            path = f"{path}/{part}"
            try:
                ftp.cwd(path)
            except ftplib.error_perm:
                try:
                    ftp.mkd(path)
                except ftplib.error_perm as exc:
                    raise DestinationAccessDenied(
                        f"{self.name}: cannot create folder {path} ({exc}): check that it "
                        f"exists and that user '{self.config.user}' may write there"
                    ) from exc

    def _rename(self, ftp: ftplib.FTP, temp: str, target: str) -> None:
        try:
            ftp.rename(temp, target)
        except ftplib.error_perm:
            # Some servers refuse to rename over an existing file.
            _quietly_delete(ftp, target)
            ftp.rename(temp, target)

    def _walk(
        self,
        ftp: ftplib.FTP,
        relative_dir: str,
        prefix: str,
        found: _Files,
        partial: _Files | None = None,
    ) -> None:
        absolute = posixpath.join(self.folder, relative_dir) if relative_dir else self.folder
        try:
            entries = list(ftp.mlsd(absolute, facts=["type", "size", "modify"]))
        except ftplib.error_perm as exc:
            # 550 (501 on pyftpdlib): the folder does not exist (yet), nothing stored there.
            if str(exc)[:3] in ("550", "501"):
                return
            raise
        for entry_name, facts in entries:
            kind = facts.get("type", "")
            if kind in ("cdir", "pdir") or entry_name in (".", ".."):
                continue
            rel = f"{relative_dir}/{entry_name}" if relative_dir else entry_name
            if kind == "dir":
                if rel.startswith(prefix) or prefix.startswith(rel + "/"):
                    self._walk(ftp, rel, prefix, found, partial)
            elif entry_name.startswith(TEMP_MARKER):
                if partial is not None:
                    partial.append(RemoteFile(rel, int(facts.get("size", 0)), _mlsd_time(facts)))
            elif rel.startswith(prefix):
                found.append(RemoteFile(rel, int(facts.get("size", 0)), _mlsd_time(facts)))


def _mlsd_time(facts: dict[str, str]) -> datetime | None:
    value = facts.get("modify")
    if not value:
        return None
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _quietly_delete(ftp: ftplib.FTP, path: str) -> None:
    # Best-effort cleanup on a connection that may already be broken.
    with suppress(ftplib.Error, OSError, EOFError):
        ftp.delete(path)


def _close(ftp: ftplib.FTP) -> None:
    try:
        ftp.quit()
    except (TimeoutError, ftplib.Error, OSError, EOFError):
        ftp.close()


def create(config: FtpConfig, state_dir: Path | None = None) -> FtpDestination:
    """Build from a validated config (registry entry point)."""
    return FtpDestination(config)


BACKEND = Backend("ftp", ("ftp", "ftps"), FtpConfig, parse_url, create)
