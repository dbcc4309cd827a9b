"""Whole-process time of `convcalc layer` against the import floor of its libraries.

Target: `convcalc layer`, `convcalc compute` and `convcalc solve` (in English and in Chinese) each within 1.25× of
`python -c "import typer, rich.console, rich.table"`. Each command and the floor run interleaved,
many times, in one run; the medians are compared.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

FLOOR = [sys.executable, "-c", "import typer, rich.console, rich.table"]
# the installed console script, as a user runs it (python -m convcalc if there is none)
SCRIPT = shutil.which("convcalc", path=str(Path(sys.executable).parent))
CONVCALC = [SCRIPT] if SCRIPT else [sys.executable, "-m", "convcalc"]
LAYER = [*CONVCALC, "layer", "--in", "10", "--k", "5", "--p", "1", "--s", "2"]
COMPUTE = [*CONVCALC, "compute", "--x", "[[0,1,2],[3,4,5],[6,7,8]]", "--w", "[[0,1],[2,3]]", "--explain"]
SOLVE = [*CONVCALC, "solve", "--in", "224", "--out", "112", "--k", "3", "--s", "?", "--p", "?", "--explain"]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(label: str, command: list[str], floor: list[str], runs: int, target: float) -> bool:
    timed(command), timed(floor)  # warm the file cache
    ours, base = [], []
    for _ in range(runs):
        ours.append(timed(command))
        base.append(timed(floor))
    ratio = statistics.median(ours) / statistics.median(base)
    verdict = "ok" if ratio <= target else "SLOWER THAN TARGET"
    print(f"{label}: {statistics.median(ours) * 1000:.0f} ms vs floor {statistics.median(base) * 1000:.0f} ms "
          f"= {ratio:.2f}× (target ≤ {target}×) {verdict}")
    return ratio <= target


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    ok = compare("convcalc layer", LAYER, FLOOR, args.runs, 1.25)
    ok &= compare("convcalc compute (the notes' corr2d, explained)", COMPUTE, FLOOR, args.runs, 1.25)
    ok &= compare("convcalc solve (halve 224: every stride and padding)", SOLVE, FLOOR, args.runs, 1.25)
    # in Chinese: the catalog is read and the help texts translated before the command runs
    ok &= compare("convcalc layer --lang zh", [*LAYER, "--lang", "zh"], FLOOR, args.runs, 1.25)
    ok &= compare("convcalc compute --lang zh", [*COMPUTE, "--lang", "zh"], FLOOR, args.runs, 1.25)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
