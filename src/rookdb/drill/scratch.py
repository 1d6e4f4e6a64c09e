"""The scratch place of a restore drill, and cleaning up after drills that were killed.

Each drill works in its own locked work folder under ``<data-dir>/.drill-scratch/``
(`rookdb.staging`: the same kind of folder a restore stages in). The kernel
drops the lock when the process ends, however it ends (SIGKILL included), so
``clean_leftovers`` (at server start and before every drill) removes exactly
the folders of drills that are no longer running.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from rookdb import staging


def scratch_root(data_dir: Path) -> Path:
    """Where the drills of a data dir build their scratch databases."""
    return Path(data_dir) / staging.DRILL_SCRATCH


class Scratch:
    """One drill's private folder, locked while it exists; removed by `close()`."""

    def __init__(self, root: Path) -> None:
        self._folder: AbstractContextManager[Path] | None = staging.work_folder(root, "drill-")
        self.path = self._folder.__enter__()

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete everything the drill wrote, then release the lock."""
        if self._folder is not None:
            self._folder.__exit__(None, None, None)
            self._folder = None


def clean_leftovers(root: Path) -> list[str]:
    """Remove the scratch folders of drills that are no longer running; their names."""
    return [path.name for path in staging.remove_abandoned(root)]
