"""A backup task's chain on one of its destinations, as a restore source for a drill.

Only the files up to the one the task last wrote are downloaded: a backup
may be uploading the next incremental into the same run folder meanwhile,
and a file still arriving must not be mistaken for a damaged one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rookdb.backup import naming
from rookdb.destinations import from_config
from rookdb.errors import RestoreError


class DestinationChainSource:
    """The run folder `run_folder` on a destination (given by its task config)."""

    def __init__(
        self,
        config: dict[str, Any],
        run_folder: str,
        *,
        until: str | None = None,
        label: str | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.run_folder = run_folder
        self.until = until
        self.state_dir = state_dir
        self.description = f"{label or config.get('kind')}: {run_folder}"

    def fetch(self, work_dir: Path) -> Path:
        """Download the chain's files (up to `until`) into `work_dir/<run folder>`."""
        destination = from_config(self.config, state_dir=self.state_dir)
        try:
            prefix = f"{self.run_folder}/"
            names = sorted(
                name
                for name in (f.path[len(prefix) :] for f in destination.list(prefix))
                if "/" not in name and naming.is_backup_file_name(name) and self._wanted(name)
            )
            if not names:
                raise RestoreError(
                    f"no backup files of run folder {self.run_folder} on {destination.name}"
                )
            local = work_dir / self.run_folder
            local.mkdir(parents=True, exist_ok=True)
            for name in names:
                destination.get_file(prefix + name, local / name)
            return local
        finally:
            destination.close()

    def _wanted(self, name: str) -> bool:
        # Names sort in creation order (same-second names get -01, -02 ...).
        return self.until is None or naming.order_key(name) <= naming.order_key(self.until)
