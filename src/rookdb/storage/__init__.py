"""The storage layer: one SQLite file per database, its documents and its change feed."""

from rookdb.storage.bulk import BulkLoader
from rookdb.storage.changes import (
    AttachmentChange,
    Change,
    ChangeFeed,
    DocumentChange,
    IdentityChange,
    IndexChange,
    TombstoneChange,
)
from rookdb.storage.database import BatchOperation, BatchResult, Database, DatabaseStats
from rookdb.storage.database_file import DatabaseFile, FileCopy
from rookdb.storage.model import (
    AttachmentInfo,
    Condition,
    Document,
    IndexDefinition,
    PutResult,
    QueryResult,
)

__all__ = [
    "AttachmentChange",
    "AttachmentInfo",
    "BatchOperation",
    "BatchResult",
    "BulkLoader",
    "Change",
    "ChangeFeed",
    "Condition",
    "Database",
    "DatabaseFile",
    "DatabaseStats",
    "Document",
    "DocumentChange",
    "FileCopy",
    "IdentityChange",
    "IndexChange",
    "IndexDefinition",
    "PutResult",
    "QueryResult",
    "TombstoneChange",
]
