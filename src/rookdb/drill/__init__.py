"""Restore drills: prove that a backup chain restores, by restoring it.

    run_drill(source, scratch_root, until=None, encryption_key=None) -> DrillReport

restores a chain (run folder, file, folder of run folders or destination URL)
with the real restore into a locked scratch folder, checks the result against
what the chain's files recorded, measures the cost and deletes the scratch
copy. ``clean_leftovers`` removes what a killed drill left behind;
``DrillWorker`` runs a server's drills one at a time at low priority.
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "DestinationChainSource",
    "DrillReport",
    "DrillWorker",
    "FileCheck",
    "IndexCheck",
    "Scratch",
    "clean_leftovers",
    "lower_thread_priority",
    "run_drill",
    "scratch_root",
]

if TYPE_CHECKING:
    from rookdb.drill.check import run_drill
    from rookdb.drill.report import DrillReport, FileCheck, IndexCheck
    from rookdb.drill.scratch import Scratch, clean_leftovers, scratch_root
    from rookdb.drill.source import DestinationChainSource
    from rookdb.drill.throttle import DrillWorker, lower_thread_priority
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "check": ["run_drill"],
            "report": ["DrillReport", "FileCheck", "IndexCheck"],
            "scratch": ["Scratch", "clean_leftovers", "scratch_root"],
            "source": ["DestinationChainSource"],
            "throttle": ["DrillWorker", "lower_thread_priority"],
        },
    )
