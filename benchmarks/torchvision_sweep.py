"""torchvision's detection and optical-flow models read as a user reads them, against PyTorch's own figures.

Each is written into a small file (`weights=None, weights_backbone=None`) and read with `read_model`, as
`convcalc net file.py:build --input …` does. Their forward passes read values (non-maximum suppression,
RAFT's correlation lookups), so convcalc runs them on the CPU with seeded random weights and input; the
oracle runs the same model, seeded alike, under PyTorch's FLOP counter (MACs = its total ÷ 2).
Classification, segmentation and video models are checked in CI (tests/test_torch_running.py).

    python benchmarks/torchvision_sweep.py [--out benchmarks/results/torchvision_sweep.txt]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "torchvision_sweep.txt"))
    args = parser.parse_args()
    import torch
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    from convcalc import analyze
    from convcalc.formats.pytorch import read_model

    cases = [("detection", n, (3, 320, 320)) for n in torchvision.models.list_models(module=torchvision.models.detection)]
    cases += [("optical_flow", n, (3, 128, 128)) for n in torchvision.models.list_models(module=torchvision.models.optical_flow)]
    folder = Path(tempfile.mkdtemp())
    lines, exact = [], 0
    for group, name, shape in cases:
        backbone = ", weights_backbone=None" if group == "detection" else ""
        path = folder / f"{name}.py"
        path.write_text(f"import torchvision\n\n\ndef build():\n    return torchvision.models.{group}.{name}(weights=None{backbone})\n")
        namespace: dict = {}
        exec(path.read_text(), namespace)
        torch.manual_seed(0)
        model = namespace["build"]().eval()
        torch.manual_seed(0)
        x = torch.randn(1, *shape)
        inputs = [x, torch.randn_like(x)] if group == "optical_flow" else [x]
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
        theirs = (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()),
                  counter.get_total_flops() // 2)
        start = time.perf_counter()
        try:
            report = analyze(read_model(f"{path}:build", shape))
        except Exception as error:  # noqa: BLE001 — the sweep reports whatever happens
            lines.append(f"{group:13} {name:40} failed: {type(error).__name__}: {str(error)[:150]}")
            print(lines[-1], flush=True)
            continue
        ours = (report.params, report.buffers, report.macs)
        ok = ours == theirs and not report.unknown_ops
        exact += ok
        lines.append(f"{group:13} {name:40} {'exact' if ok else 'differs':8} {time.perf_counter() - start:6.2f} s"
                     + ("" if ok else f" ours {ours} PyTorch {theirs} unknown {list(report.unknown_ops)}"))
        print(lines[-1], flush=True)
    summary = f"{len(cases)} models: {exact} exact"
    Path(args.out).write_text(f"torchvision {torchvision.__version__}, torch {torch.__version__}\n{summary}\n\n" + "\n".join(lines) + "\n")
    print(summary)


if __name__ == "__main__":
    main()
