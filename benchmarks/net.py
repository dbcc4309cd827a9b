"""`convcalc net` against its import floor, against torchinfo, and at 100,000 layers.

Targets (ratios of medians, both sides measured interleaved in this one run):
- `convcalc net vgg16.yaml`, whole process: ≤ 1.5× `python -c "import typer, rich.console, rich.table, yaml"`;
  `import convcalc; convcalc.summary("resnet50")` the same (the HTML and graph code load only when asked), and
  `convcalc compare` of a quoted layer and a description;
- against torchinfo's summary of torchvision's VGG-16 (import, build, summary — what a user runs
  today): ≥ 30× faster and ≥ 20× less peak memory (run when torch, torchvision and torchinfo
  import in --torch-python, default this interpreter);
- ResNet-152's HTML report (`-o r152.html`) written in under 1 s and at most 1.5 MB;
- a generated network of 100,000 layers to JSON: ≤ 30× the import floor, and 200,000 layers in
  ≤ 2.2× the time of 100,000.

    python benchmarks/net.py [--runs 15] [--torch-python PATH]
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

FLOOR = [sys.executable, "-c", "import typer, rich.console, rich.table, yaml"]
SCRIPT = shutil.which("convcalc", path=str(Path(sys.executable).parent))
CONVCALC = [SCRIPT] if SCRIPT else [sys.executable, "-m", "convcalc"]
TORCHINFO = """
import torchvision, torchinfo
model = torchvision.models.vgg16(weights=None)
torchinfo.summary(model, input_size=(1, 3, 224, 224))
"""

GENERATED = """name: generated ({layers} layers)
input: [16, 8, 8]
blocks:
  unit:                       # 10 layers: conv+bn+relu, a residual of 4 layers and its add, relu, dropout
    layers:
      - conv: {{c: 16, k: 3, p: 1, bn: true, act: relu}}
      - residual:
          - conv: {{c: 16, k: 3, p: 1, bn: true, act: relu}}
          - conv: {{c: 16, k: 1}}
      - relu
      - dropout
layers:
  - {{unit: null, repeat: {units}}}
"""


def run(command: list[str]) -> tuple[float, int]:
    """Wall time in seconds and peak resident memory in KiB of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def medians(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, int]]:
    samples = {name: [] for name in commands}
    for command in commands.values():  # warm the file cache
        run(command)
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(run(command))
    return {name: (statistics.median(t for t, _ in s), max(m for _, m in s)) for name, s in samples.items()}


def against(m: dict, peer: str) -> tuple[float, float, str]:
    """convcalc's median time and peak memory against a peer's: the two ratios, and a sentence giving both sides."""
    (ours, our_kib), (theirs, their_kib) = m["convcalc"], m[peer]
    speed, memory = theirs / ours, their_kib / our_kib
    return speed, memory, (f"{ours * 1000:.0f} ms vs {theirs * 1000:.0f} ms = {speed:.1f}× faster; peak memory "
                           f"{our_kib / 1024:.0f} MiB vs {their_kib / 1024:.0f} MiB = {memory:.1f}× less")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSES TARGET"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--torch-python", default=sys.executable, help="an interpreter with torch, torchvision and torchinfo")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        nets = {}
        for layers in (100_000, 200_000):
            path = Path(tmp) / f"generated{layers}.yaml"
            path.write_text(GENERATED.format(layers=layers, units=layers // 10))
            nets[layers] = path
        commands = {
            "floor": FLOOR,
            "vgg16": [*CONVCALC, "net", "vgg16.yaml"],
            "library": [sys.executable, "-c", "import convcalc; convcalc.summary('resnet50')"],
            "compare": [*CONVCALC, "compare", "layer --cout 64 --k 3 --p 1", "separable", "--input", "32x56x56", "--explain"],
        }
        m = medians(commands, args.runs)
        ratio = m["vgg16"][0] / m["floor"][0]
        ok &= ratio <= 1.5
        print(f"convcalc net vgg16.yaml: {m['vgg16'][0] * 1000:.0f} ms vs floor {m['floor'][0] * 1000:.0f} ms "
              f"= {ratio:.2f}× (target ≤ 1.5×) {verdict(ratio <= 1.5)}")
        ratio = m["library"][0] / m["floor"][0]
        ok &= ratio <= 1.5
        print(f"import convcalc; convcalc.summary('resnet50'): {m['library'][0] * 1000:.0f} ms = {ratio:.2f}× the floor "
              f"(target ≤ 1.5×, as net) {verdict(ratio <= 1.5)}")

        ratio = m["compare"][0] / m["floor"][0]
        ok &= ratio <= 1.5
        print(f"convcalc compare (a quoted layer and a description, explained): {m['compare'][0] * 1000:.0f} ms = {ratio:.2f}× "
              f"the floor (target ≤ 1.5×, as net) {verdict(ratio <= 1.5)}")

        html = medians({"floor": FLOOR, "html": [*CONVCALC, "net", "resnet152", "-o", str(Path(tmp) / "r152.html")]}, max(3, args.runs // 3))
        size = (Path(tmp) / "r152.html").stat().st_size
        ok &= html["html"][0] < 1 and size <= 1_500_000
        print(f"ResNet-152 as an HTML report: {html['html'][0]:.2f} s (target < 1 s), {size / 1e6:.2f} MB (target ≤ 1.5 MB) "
              f"{verdict(html['html'][0] < 1 and size <= 1_500_000)}")

        big = medians({"floor": FLOOR, **{n: [*CONVCALC, "net", str(p), "--format", "json"] for n, p in nets.items()}}, max(3, args.runs // 5))
        ratio = big[100_000][0] / big["floor"][0]
        doubling = big[200_000][0] / big[100_000][0]
        ok &= ratio <= 30 and doubling <= 2.2
        print(f"100,000 layers to JSON: {big[100_000][0]:.2f} s = {ratio:.1f}× the floor (target ≤ 30×) {verdict(ratio <= 30)}")
        print(f"200,000 layers: {big[200_000][0]:.2f} s = {doubling:.2f}× the time of 100,000 (target ≤ 2.2×) {verdict(doubling <= 2.2)}")

    probe = subprocess.run([args.torch_python, "-c", "import torch, torchvision, torchinfo"], capture_output=True)
    if probe.returncode != 0:
        print(f"torchinfo comparison skipped: torch, torchvision and torchinfo do not import in {args.torch_python}")
        return 0 if ok else 1
    m = medians({"convcalc": [*CONVCALC, "net", "vgg16.yaml"], "torchinfo": [args.torch_python, "-c", TORCHINFO]}, max(3, args.runs // 3))
    speed, memory, sentence = against(m, "torchinfo")
    ok &= speed >= 30 and memory >= 20
    print(f"VGG-16 against torchinfo: {sentence} (targets ≥ 30× and ≥ 20×) {verdict(speed >= 30 and memory >= 20)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
