"""The rookdb error tree.

Every error a user can see is a ``RookError``; each class knows its HTTP
status, its CLI exit code and whether retrying may help::

    RookError
    ├── InvalidInput            400  bad id, JSON, name, cron, field ...
    │   └── PayloadTooLarge     413
    ├── Unauthorized            401
    ├── Forbidden               403
    ├── NotFound                404  database, document, attachment, task ...
    ├── Conflict                409
    │   ├── AlreadyExists       409  database or task name taken
    │   ├── ConcurrencyConflict 409  expected etag does not match
    │   │   └── FencedOut       409  a change in a cluster role this node lost
    │   └── TaskBusy            409  a run or drill of the task holds its lease elsewhere
    ├── BackupError             422
    │   ├── BackupCorrupted     422  checksum, truncation, unknown format
    │   ├── ChainBroken         422  gap or foreign file in a backup chain
    │   └── EncryptionKeyError  422  missing or wrong key
    ├── RestoreError            422
    ├── DestinationError        502  a backup destination failed
    │   ├── DestinationUnavailable  (retryable) network, timeout, 5xx
    │   └── DestinationAccessDenied bad credentials, no permission, no bucket
    ├── AlertDeliveryFailed     502  an alert channel refused a notification (login, 4xx)
    │   ├── AlertReceiverUnavailable  (retryable) receiver down, timeout, 5xx
    │   └── AlertChannelGone    410 from a webhook receiver: the channel is turned off
    ├── ClusterUnavailable      503  (retryable) no leader, node down
    ├── ServerUnreachable       503  (retryable) the client cannot reach a rookdb server
    ├── StorageError            500  disk full, I/O failure
    └── MasterKeyError          500  the master key that seals stored secrets is missing or wrong
"""

from __future__ import annotations


class RookError(Exception):
    """Base of every error rookdb reports to a user."""

    http_status: int = 500
    exit_code: int = 1
    retryable: bool = False
    code: str = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        """The JSON body the HTTP API sends for this error."""
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(RookError):
    http_status = 400
    code = "invalid-input"


class PayloadTooLarge(InvalidInput):
    http_status = 413
    code = "payload-too-large"


class Unauthorized(RookError):
    http_status = 401
    code = "unauthorized"


class Forbidden(RookError):
    http_status = 403
    code = "forbidden"


class NotFound(RookError):
    http_status = 404
    code = "not-found"


class Conflict(RookError):
    http_status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already-exists"


class ConcurrencyConflict(Conflict):
    code = "concurrency-conflict"


class FencedOut(ConcurrencyConflict):
    """A change made in a role this node no longer holds (the cluster's observer)."""

    code = "fenced-out"


class TaskBusy(Conflict):
    code = "task-busy"


class BackupError(RookError):
    http_status = 422
    code = "backup-error"


class BackupCorrupted(BackupError):
    code = "backup-corrupted"


class ChainBroken(BackupError):
    code = "chain-broken"


class EncryptionKeyError(BackupError):
    code = "encryption-key"


class RestoreError(RookError):
    http_status = 422
    code = "restore-error"


class DestinationError(RookError):
    http_status = 502
    code = "destination-error"


class DestinationUnavailable(DestinationError):
    retryable = True
    code = "destination-unavailable"


class DestinationAccessDenied(DestinationError):
    code = "destination-access-denied"


class AlertDeliveryFailed(RookError):
    http_status = 502
    code = "alert-delivery-failed"


class AlertReceiverUnavailable(AlertDeliveryFailed):
    retryable = True
    code = "alert-receiver-unavailable"


class AlertChannelGone(AlertDeliveryFailed):
    code = "alert-channel-gone"


class ClusterUnavailable(RookError):
    http_status = 503
    retryable = True
    code = "cluster-unavailable"


class DatabaseElsewhere(RookError):
    """A database of the cluster that lives on another node than the one asked."""

    http_status = 421
    code = "database-elsewhere"


class NotWriteNode(RookError):
    """A write to a member of a database group that is not its write node."""

    http_status = 421
    retryable = True
    code = "not-write-node"


class NoWriteNode(RookError):
    """A database group whose write node is down and not replaced yet."""

    http_status = 503
    retryable = True
    code = "no-write-node"


class WriteNotConfirmed(RookError):
    """A write the write node applied, but not yet a majority of its group."""

    http_status = 504
    retryable = True
    code = "write-not-confirmed"


class ServerUnreachable(RookError):
    http_status = 503
    retryable = True
    code = "server-unreachable"


class StorageError(RookError):
    http_status = 500
    code = "storage-error"


class MasterKeyError(RookError):
    http_status = 500
    code = "master-key"
