"""What reading a PyTorch model costs beyond PyTorch itself, measured side by side in whole processes.

For ResNet-50 (torchvision) and YOLOv8n (built by Ultralytics, when installed): the floor is a process
that imports torch and builds the model as convcalc does (on the meta device where it can be); the reading is
`convcalc net <model> --format json`. Targets: at most 0.5 s and 150 MB above the floor.

    python benchmarks/torch_read.py [--runs 5]
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

SCRIPT = shutil.which("convcalc", path=str(Path(sys.executable).parent))
CONVCALC = [SCRIPT] if SCRIPT else [sys.executable, "-m", "convcalc"]


def run(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, command
    return time.perf_counter() - start, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    cases = {"ResNet-50": ("torchvision.models:resnet50", "import torchvision; torch.device('meta').__enter__(); "
                                                          "torchvision.models.resnet50()", "3x224x224")}
    import importlib.util

    if importlib.util.find_spec("ultralytics") is not None:  # located, not imported: the processes this one starts stay small
        (folder / "yolo.py").write_text("from ultralytics.nn.tasks import DetectionModel\n\n\ndef build():\n"
                                        "    return DetectionModel('yolov8n.yaml')\n")
        cases["YOLOv8n"] = (f"{folder / 'yolo.py'}:build", f"import sys; sys.path.insert(0, {str(folder)!r}); "
                                                           "import yolo; yolo.build()", "3x640x640")  # built on the CPU: it runs a forward to find its strides
    for name, (target, floor_code, shape) in cases.items():
        floors, reads = [], []
        for _ in range(args.runs):  # interleaved, so that a busy moment weighs on both alike
            floors.append(run([sys.executable, "-c", "import torch; " + floor_code]))
            reads.append(run([*CONVCALC, "net", target, "--input", shape, "--format", "json"]))
        floor_s, read_s = statistics.median(t for t, _ in floors), statistics.median(t for t, _ in reads)
        floor_kib, read_kib = max(m for _, m in floors), max(m for _, m in reads)
        print(f"{name:10} torch + build {floor_s:.2f} s {floor_kib / 1024:.0f} MiB; convcalc {read_s:.2f} s {read_kib / 1024:.0f} MiB;"
              f" reading adds {read_s - floor_s:+.2f} s (target ≤ 0.5) and {(read_kib - floor_kib) / 1024:+.0f} MiB (target ≤ 150)")


if __name__ == "__main__":
    main()
