"""Where `BackupRun` and `run_backup` used to live; they are in `rookdb.backup` now.

Kept because `rookdb.client` still imports `BackupRun` from here.
"""

from rookdb.backup import BackupRun, run_backup

__all__ = ["BackupRun", "run_backup"]
