"""The storage layer: one SQLite file per database, its documents and its change feed."""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

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

if TYPE_CHECKING:
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
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "bulk": ["BulkLoader"],
            "changes": [
                "AttachmentChange",
                "Change",
                "ChangeFeed",
                "DocumentChange",
                "IdentityChange",
                "IndexChange",
                "TombstoneChange",
            ],
            "database": ["BatchOperation", "BatchResult", "Database", "DatabaseStats"],
            "database_file": ["DatabaseFile", "FileCopy"],
            "model": [
                "AttachmentInfo",
                "Condition",
                "Document",
                "IndexDefinition",
                "PutResult",
                "QueryResult",
            ],
        },
    )
