"""Reading YOLO's own files against reading the bundled ResNet-50, whole processes measured interleaved in one run.

Target: `convcalc net yolov8n.yaml` (the file shipped with the installed `ultralytics`, when it is installed) and
`convcalc net yolov4.cfg` (Darknet's, in tests/darknet/) each take at most 1.5× the time of `convcalc net resnet50`;
neither imports torch or ultralytics. For scale, Ultralytics itself building YOLOv8n from the same file and printing its
summary (`DetectionModel("yolov8n.yaml")`), when installed.

    python benchmarks/yolo_files.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = shutil.which("convcalc", path=str(Path(sys.executable).parent))
CONVCALC = [SCRIPT] if SCRIPT else [sys.executable, "-m", "convcalc"]
DARKNET = Path(__file__).parent.parent / "tests" / "darknet" / "yolov4.cfg"


def run(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, command
    return time.perf_counter() - start, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    cases = {"resnet50 (bundled)": [*CONVCALC, "net", "resnet50"], "yolov4.cfg": [*CONVCALC, "net", str(DARKNET)]}
    import importlib.util

    found = importlib.util.find_spec("ultralytics")  # located, not imported: this process stays small for the ones it starts
    if found is not None:
        yolo = Path(found.origin).parent / "cfg" / "models" / "v8" / "yolov8n.yaml"
        cases["yolov8n.yaml"] = [*CONVCALC, "net", str(yolo)]
        cases["Ultralytics builds YOLOv8n"] = [sys.executable, "-c", "from ultralytics.nn.tasks import DetectionModel; "
                                               f"DetectionModel({str(yolo)!r})"]
    times: dict[str, list] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so that a busy moment weighs on all alike
        for name, command in cases.items():
            times[name].append(run(command))
    base = statistics.median(t for t, _ in times["resnet50 (bundled)"])
    for name, runs in times.items():
        median, peak = statistics.median(t for t, _ in runs), max(m for _, m in runs) / 1024
        target = "  (target ≤ 1.5×)" if name in ("yolov4.cfg", "yolov8n.yaml") else ""
        print(f"{name:28} {median:.3f} s  {peak:.0f} MiB  {median / base:.2f}× resnet50{target}")


if __name__ == "__main__":
    main()
