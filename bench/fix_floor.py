"""The floor of an exact `--diff` / `--fix`: what one more lint of the fixed texts costs.

    python bench/fix_floor.py ORIGINAL_TREE FIXED_TREE

FIXED_TREE is a copy of ORIGINAL_TREE after `varlint check --select ALL --fix`. Fixing until
stable lints each fixed text again (a fix may enable another fix, and the remaining
diagnostics are what is reported), so `--diff` costs at least `check` plus one lint of the
fixed files. In one process, with the index of the tree built once (not timed), this prints
the CPU time of linting every original file and of linting the fixed texts alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from varlint import engine
from varlint.collection import fewer_collections
from varlint.config import Settings
from varlint.project import ProjectIndex


def lint_cpu(root: Path, every: list[Path], subset: list[Path], settings: Settings) -> float:
    project = ProjectIndex.build([str(root / r) for r in every])
    with fewer_collections():
        start = time.process_time()
        for relative in subset:
            engine.check_file(str(root / relative), settings, None, project)
        return time.process_time() - start


def main() -> None:
    original, fixed = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(select=("ALL",))
    every = sorted(p.relative_to(original) for p in original.rglob("*.py"))
    changed = [r for r in every if (original / r).read_bytes() != (fixed / r).read_bytes()]

    def size(root: Path, subset: list[Path]) -> int:
        return sum((root / r).stat().st_size for r in subset)

    print(f"{len(changed)} of {len(every)} files fixed: {size(fixed, changed)} of {size(original, every)} bytes")
    lint_cpu(original, every[:1], every[:1], settings)  # imports and warm-up, not timed
    for _ in range(3):
        whole = lint_cpu(original, every, every, settings)
        again = lint_cpu(fixed, every, changed, settings)
        print(f"lint of every original file {whole:.2f} s CPU; of the fixed texts {again:.2f} s = {again / whole:.2f}x")


if __name__ == "__main__":
    main()
