"""A backup task's chain on one of its destinations, as a restore source for a drill.

Only the files up to the one the task last wrote are downloaded: a backup
may be uploading the next incremental into the same run folder meanwhile,
and a file still arriving must not be mistaken for a damaged one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rookdb.backup import naming
from rookdb.backup.catalog import group_listing
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
            listed = group_listing(destination.list(f"{self.run_folder}/"), self.run_folder)
            files = [f for folder in listed for f in folder.files if self._wanted(f.name)]
            if not files:
                raise RestoreError(
                    f"no backup files of run folder {self.run_folder} on {destination.name}"
                )
            local = work_dir / self.run_folder
            local.mkdir(parents=True, exist_ok=True)
            for file in files:
                destination.get_file(file.path, local / file.name)
            return local
        finally:
            destination.close()

    def _wanted(self, name: str) -> bool:
        # Names sort in creation order (same-second names get -01, -02 ...).
        return self.until is None or naming.order_key(name) <= naming.order_key(self.until)
