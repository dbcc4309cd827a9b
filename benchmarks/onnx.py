"""`convcalc net model.onnx` against onnx-tool's profile of the same file, whole processes, side by side.

Target: faster and less peak memory than onnx-tool (`onnx_tool.model_profile`), ratios of medians
over interleaved runs, on torchvision's ResNet-50 exported to ONNX (a 102 MB file: convcalc reads
its graph and skips the weights' bytes; onnx-tool loads them).

    python benchmarks/onnx.py [--runs 9] [--tool-python PATH] [--model resnet50.onnx]

--tool-python is an interpreter with onnx-tool installed (and, without --model, torch and
torchvision to export the model); by default this one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from net import CONVCALC, against, medians, verdict  # noqa: E402

EXPORT = """
import sys, torch, torchvision
model = torchvision.models.resnet50(weights=None).eval()
torch.onnx.export(model, (torch.zeros(1, 3, 224, 224),), sys.argv[1], dynamo=False, opset_version=17)
"""
PROFILE = "import os, sys, onnx_tool; onnx_tool.model_profile(sys.argv[1], save_profile=os.devnull)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tool-python", default=sys.executable)
    parser.add_argument("--model", help="an ONNX file (default: torchvision's ResNet-50, exported here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else Path(tmp) / "resnet50.onnx"
        if not args.model:
            subprocess.run([args.tool_python, "-c", EXPORT, str(model)], check=True, capture_output=True)
        probe = subprocess.run([args.tool_python, "-c", "import onnx_tool"], capture_output=True)
        if probe.returncode != 0:
            print(f"skipped: onnx-tool does not import in {args.tool_python}")
            return 0
        m = medians({"convcalc": [*CONVCALC, "net", str(model), "--format", "json"],
                     "onnx-tool": [args.tool_python, "-c", PROFILE, str(model)]}, args.runs)
        size = model.stat().st_size
    speed, memory, sentence = against(m, "onnx-tool")
    ok = speed > 1 and memory > 1
    print(f"{model.name} ({size / 1e6:.0f} MB) against onnx-tool: {sentence} (target: both > 1) {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
