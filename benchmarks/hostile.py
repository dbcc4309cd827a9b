"""Hostile input against its budgets, and a million layers as JSON.

Targets (whole processes, as a user runs them):
- every case of the hostile corpus (tests/hostile/, the large generated files of
  tests/test_hostile.py, the ONNX files of tests/hostile/onnx_files.py — a 50,000-node graph at
  the budget, 10^6 nodes refused, 48 MB of float_data — the longest file of written-out layers
  still accepted, a 5,000-digit flag, --explain of the largest network, compute's statements at
  their work budget, a computation at its budget in fractions, compare of 20 networks) ends within 2 s and
  200 MB, in a result or one `Error:` line: the slowest and the largest are printed;
- a network of 10^6 layers (1.2·10^6 rows with its blocks) to JSON in under 10 s and 500 MB, and
  to CSV the same. A network up to the 2·10^6-row budget is analysed, not refused: its time is
  printed too (it grows linearly, a few seconds per million rows).

Each case runs --runs times; its median time and largest peak are reported.

    python benchmarks/hostile.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = shutil.which("convcalc", path=str(Path(sys.executable).parent))
CONVCALC = [SCRIPT] if SCRIPT else [sys.executable, "-m", "convcalc"]
sys.path.insert(0, str(HERE))
from net import GENERATED  # noqa: E402  the same generated network as the scale benchmark


def run(command: list[str]) -> tuple[float, int, int]:
    """Seconds, peak resident KiB and exit code of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def measure(command: list[str], runs: int) -> tuple[float, int, int]:
    samples = [run(command) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples), samples[0][2]


def generated_corpus(folder: Path) -> list[Path]:
    """The large hostile files, and the largest descriptions still accepted."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generated", HERE.parent / "tests" / "hostile" / "generated.py")
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    files = {
        **generated.FILES,
        # accepted: the longest file of written-out layers the size budget lets through
        "written_out_512k.yaml": "input: [8, 16, 16]\nlayers:\n" + "  - conv: {c: 8, k: 3, p: 1}\n" * 18_000,
        # the most rows a description may expand to: only --explain is refused, and at once
        "two_million_rows.yaml": "input: [8, 16, 16]\nlayers:\n  - {conv: {c: 8, k: 3, p: 1}, repeat: 1000000}\n"
                                 "  - {relu: null, repeat: 999999}\n",
    }
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        paths.append(path)
    return paths


def onnx_corpus(folder: Path) -> list[Path]:
    """tests/hostile/onnx_files.py's files (made with the onnx package, when it is installed)."""
    script = HERE.parent / "tests" / "hostile" / "onnx_files.py"
    made = subprocess.run([sys.executable, str(script), str(folder / "onnx")], capture_output=True)  # its own process: its
    if made.returncode != 0:  # memory is not counted in the peaks measured here
        return []
    return sorted((folder / "onnx").glob("*.onnx"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpus = sorted((HERE.parent / "tests" / "hostile").glob("*.yaml")) + generated_corpus(folder) + onnx_corpus(folder)
        results = []
        for path in corpus:
            if path.name == "two_million_rows.yaml":
                continue  # an accepted network of the largest size: measured at the end, against its own budget
            for fmt in ("table", "json"):
                seconds, peak, code = measure([*CONVCALC, "net", str(path), "--format", fmt], args.runs)
                results.append((seconds, peak, code, f"{path.name} --format {fmt}"))
        if not any(p.suffix == ".onnx" for p in corpus):
            print("(the ONNX corpus needs the onnx package: pip install onnx)")
        for extra, label in ((["net", str(folder / "two_million_rows.yaml"), "--explain"], "--explain of 2·10^6 rows"),
                             (["layer", "--in", "1" + "0" * 5000, "--k", "3"], "a 5,000-digit --in"),
                             (["zoo", "--format", "markdown"], "zoo --format markdown"),
                             # the notes' statements at their work budget: 10^6 values made, then one error line
                             (["compute", "--x", "X = torch.ones(256, 256)\n" + "X = X + 1/3\n" * 5000, "--w", "[[1]]"],
                              "compute --x: 5,000 statements on 256×256"),
                             (["compare", *["vgg16"] * 20], "compare of 20 designs"),
                             # a computation at its budget, in exact fractions: 166²·9 = 248,004 multiply-adds
                             (["compute", "--x", "torch.full((168, 168), 1/3)", "--w", "torch.full((3, 3), 1/7)", "--format", "json"],
                              "compute at 248,004 multiply-adds of fractions")):
            seconds, peak, code = measure([*CONVCALC, *extra], args.runs)
            results.append((seconds, peak, code, label))
        slowest = max(results)
        largest = max(results, key=lambda r: r[1])
        time_ok, memory_ok = slowest[0] <= 2, largest[1] <= 200 * 1024
        ok &= time_ok and memory_ok
        print(f"hostile corpus: {len(results)} cases, {sum(r[2] != 0 for r in results)} refused")
        print(f"  slowest: {slowest[3]}: {slowest[0]:.2f} s (target ≤ 2 s) {'ok' if time_ok else 'MISSES TARGET'}")
        print(f"  largest: {largest[3]}: {largest[1] / 1024:.0f} MiB (target ≤ 200 MiB) {'ok' if memory_ok else 'MISSES TARGET'}")
        for seconds, peak, code, label in sorted(results, reverse=True)[:5]:
            print(f"    {seconds:5.2f} s {peak / 1024:5.0f} MiB  exit {code}  {label}")

        million = folder / "million.yaml"
        million.write_text(GENERATED.format(layers=1_000_000, units=100_000))
        for fmt in ("json", "csv"):
            seconds, peak, code = measure([*CONVCALC, "net", str(million), "--format", fmt], args.runs)
            good = code == 0 and seconds < 10 and peak <= 500 * 1024
            ok &= good
            print(f"10^6 layers to {fmt.upper()}: {seconds:.2f} s, peak {peak / 1024:.0f} MiB "
                  f"(target < 10 s and ≤ 500 MiB) {'ok' if good else 'MISSES TARGET'}")
        seconds, peak, code = measure([*CONVCALC, "net", str(million)], args.runs)
        print(f"10^6 layers as a table: {seconds:.2f} s, peak {peak / 1024:.0f} MiB")
        seconds, peak, code = measure([*CONVCALC, "net", str(folder / "two_million_rows.yaml")], args.runs)
        print(f"the largest network accepted (2·10^6 rows) as a table: {seconds:.2f} s, peak {peak / 1024:.0f} MiB "
              f"(a result: a network this large is not refused)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
