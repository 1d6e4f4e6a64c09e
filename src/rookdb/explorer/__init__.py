"""The backup explorer: read, list and diff documents straight from a backup chain.

open_backup(source, until=None, encryption_key=None) -> BackupExplorer
BackupExplorer.get(id) / .history(id) / .attachment(id, name) / .documents(...)
BackupDiff(before, after, collection=None).rows() / .statistics
backup_retrieval(url, until=None, credentials=None, start=False) -> ChainRetrieval (Glacier)
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "AttachmentAtPoint",
    "BackupDiff",
    "BackupExplorer",
    "ChainPoint",
    "ChainRetrieval",
    "DiffRow",
    "DiffStatistics",
    "DocumentVersion",
    "FoundDocument",
    "ListedDocument",
    "backup_retrieval",
    "open_backup",
]

if TYPE_CHECKING:
    from rookdb.explorer.diff import BackupDiff, DiffRow, DiffStatistics
    from rookdb.explorer.explorer import (
        AttachmentAtPoint,
        BackupExplorer,
        FoundDocument,
        ListedDocument,
    )
    from rookdb.explorer.open import backup_retrieval, open_backup
    from rookdb.explorer.point import ChainPoint
    from rookdb.explorer.retrieval import ChainRetrieval
    from rookdb.explorer.versions import DocumentVersion
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "diff": ["BackupDiff", "DiffRow", "DiffStatistics"],
            "explorer": ["AttachmentAtPoint", "BackupExplorer", "FoundDocument", "ListedDocument"],
            "open": ["backup_retrieval", "open_backup"],
            "point": ["ChainPoint"],
            "retrieval": ["ChainRetrieval"],
            "versions": ["DocumentVersion"],
        },
    )
