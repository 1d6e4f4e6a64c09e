"""Restore: plan a chain up to a point in time, verify it, build a new database from it.

restore_database(instance, source, new_name, until=None) -> RestoreResult
import_file(instance, file, db_name, incremental=False) -> RestoreResult
import_folder(instance, folder, db_name) -> FolderImportResult   # a folder of periodic backups
RestoreJobs(instance).start(source, new_name, ...) -> RestoreJobStatus   # a restore run as a job
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "BackupSource",
    "DestinationSource",
    "FolderImportResult",
    "JobState",
    "LocalFolderSource",
    "RestoreJobStatus",
    "RestoreJobs",
    "RestorePlan",
    "RestoreResult",
    "build_database",
    "import_file",
    "import_folder",
    "plan_restore",
    "restore_database",
]

if TYPE_CHECKING:
    from rookdb.restore.folder_import import FolderImportResult, import_folder
    from rookdb.restore.importer import RestoreResult, build_database, import_file, restore_database
    from rookdb.restore.jobs import JobState, RestoreJobs, RestoreJobStatus
    from rookdb.restore.planner import RestorePlan, plan_restore
    from rookdb.restore.source import BackupSource, DestinationSource, LocalFolderSource
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "folder_import": ["FolderImportResult", "import_folder"],
            "importer": ["RestoreResult", "build_database", "import_file", "restore_database"],
            "jobs": ["JobState", "RestoreJobs", "RestoreJobStatus"],
            "planner": ["RestorePlan", "plan_restore"],
            "source": ["BackupSource", "DestinationSource", "LocalFolderSource"],
        },
    )
