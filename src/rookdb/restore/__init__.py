"""Restore: plan a chain up to a point in time, verify it, build a new database from it.

restore_database(instance, source, new_name, until=None) -> RestoreResult
import_file(instance, file, db_name, incremental=False) -> RestoreResult
"""

from rookdb.restore.importer import RestoreResult, build_database, import_file, restore_database
from rookdb.restore.planner import RestorePlan, plan_restore
from rookdb.restore.source import BackupSource, DestinationSource, LocalFolderSource

__all__ = [
    "BackupSource",
    "DestinationSource",
    "LocalFolderSource",
    "RestorePlan",
    "RestoreResult",
    "build_database",
    "import_file",
    "plan_restore",
    "restore_database",
]
