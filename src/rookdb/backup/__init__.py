"""Backups: full and incremental logical backups, snapshots, run folders and chains.

The API other layers build on (the task runner, the CLI, the HTTP routes)::

    write_full_backup(db, out_dir, ...) -> BackupFile          # new run folder
    write_incremental_backup(db, run_folder, since_etag, ...) -> BackupFile | None
    run_backup(db, to, incremental=...) -> BackupRun          # one backup now (CLI, HTTP)
    latest_chain(out_dir) -> RunFolderInfo | None             # where to continue
    choose_chain(folder, until) -> ChainChoice                # the current chain, and why

One module per job: ``run`` (one backup run), ``logical`` and ``snapshot`` (the
two ways a file is written), ``naming`` (run folders and file names),
``chain`` (reading and verifying what a folder holds), ``catalog`` (which
chain to continue or restore), ``export`` and ``format`` (the file format).
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "BACKUP_TYPES",
    "COMPRESSIONS",
    "FORMAT_VERSION",
    "BackupFile",
    "BackupFileInfo",
    "BackupHeader",
    "BackupReader",
    "BackupRun",
    "ChainChoice",
    "RunFolderInfo",
    "check_backup_type",
    "choose_chain",
    "export_database",
    "find_run_folders",
    "latest_chain",
    "read_file_info",
    "read_run_folder",
    "run_backup",
    "verify_file",
    "verify_run_folder",
    "write_full_backup",
    "write_export",
    "write_incremental_backup",
]

if TYPE_CHECKING:
    from rookdb.backup.catalog import ChainChoice, choose_chain, find_run_folders, latest_chain
    from rookdb.backup.chain import (
        BackupFileInfo,
        RunFolderInfo,
        read_file_info,
        read_run_folder,
        verify_file,
        verify_run_folder,
    )
    from rookdb.backup.export import export_database, write_export
    from rookdb.backup.format import COMPRESSIONS, FORMAT_VERSION, BackupHeader, BackupReader
    from rookdb.backup.run import (
        BACKUP_TYPES,
        BackupFile,
        BackupRun,
        check_backup_type,
        run_backup,
        write_full_backup,
        write_incremental_backup,
    )
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "catalog": ["ChainChoice", "choose_chain", "find_run_folders", "latest_chain"],
            "chain": [
                "BackupFileInfo",
                "RunFolderInfo",
                "read_file_info",
                "read_run_folder",
                "verify_file",
                "verify_run_folder",
            ],
            "export": ["export_database", "write_export"],
            "format": ["COMPRESSIONS", "FORMAT_VERSION", "BackupHeader", "BackupReader"],
            "run": [
                "BACKUP_TYPES",
                "BackupFile",
                "BackupRun",
                "check_backup_type",
                "run_backup",
                "write_full_backup",
                "write_incremental_backup",
            ],
        },
    )
