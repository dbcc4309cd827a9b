"""Every timm family read as a user reads it, against PyTorch's own figures.

For each family (the architectures of one timm module whose names share a stem), its first architecture is written into a two-line file
(`timm.create_model(name)`) and read with `convcalc net file.py:build` as the command line does (by
running it), at timm's declared input.
The oracle is PyTorch itself: parameters and buffers `sum(numel())`, MACs = FlopCounterMode's total
÷ 2 over one forward pass (on the meta device, or on the CPU for a model that reads values).

    python benchmarks/timm_sweep.py [--out benchmarks/results/timm_sweep.txt] [--limit N]

Each line: exact / partial (with the operations convcalc has no formula for) / refused / traceback.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
import traceback
from pathlib import Path


def oracle(torch, model, shape):
    from torch.utils.flop_counter import FlopCounterMode

    model = copy.deepcopy(model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    device = next((p.device for p in model.parameters()), torch.device("meta"))
    x = torch.empty(1, *shape, device=device) if device.type == "meta" else torch.zeros(1, *shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return (sum(p.numel() for p in model.parameters()), sum(b.numel() for b in model.buffers()), counter.get_total_flops() // 2)


def build(torch, timm, name):
    try:
        with torch.device("meta"):
            return timm.create_model(name, pretrained=False)
    except Exception:
        return timm.create_model(name, pretrained=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "timm_sweep.txt"))
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    import timm
    import torch

    from convcalc import analyze
    from convcalc.core.errors import ConvcalcError
    from convcalc.formats.pytorch import read_model

    families = {}  # a family: the architectures of one timm module that share a name (resnet, resnetv2, seresnet, …)
    for module in sorted(timm.list_modules()):
        for name in timm.list_models(module=module):
            stem = name.split("_")[0].rstrip("0123456789")
            families.setdefault(f"{module}/{stem}", name)
    if args.limit:
        families = dict(list(families.items())[: args.limit])
    folder = Path(tempfile.mkdtemp())
    counts = {"exact": 0, "partial": 0, "refused": 0, "traceback": 0, "oracle failed": 0}
    lines = []
    for module, name in families.items():
        path = folder / f"m_{module.replace('/', '_')}.py"
        path.write_text(f"import timm\n\n\ndef build():\n    return timm.create_model({name!r}, pretrained=False)\n")
        try:
            model = build(torch, timm, name)
            shape = tuple(model.default_cfg["input_size"])
            theirs = oracle(torch, model, shape)
        except Exception as error:  # the oracle itself cannot run it here
            counts["oracle failed"] += 1
            lines.append(f"{module:32} {name:36} oracle failed: {type(error).__name__}: {str(error).splitlines()[0][:100]}")
            continue
        start = time.perf_counter()
        try:
            report = analyze(read_model(f"{path}:build", shape))
        except ConvcalcError as error:
            counts["refused"] += 1
            lines.append(f"{module:32} {name:36} refused: {str(error)[:160]}")
            continue
        except Exception as error:
            counts["traceback"] += 1
            lines.append(f"{module:32} {name:36} traceback: {type(error).__name__}: {str(error).splitlines()[0][:120]}")
            traceback.print_exc(limit=-3)
            continue
        seconds = time.perf_counter() - start
        ours = (report.params, report.buffers, report.macs)
        state = "exact" if ours == theirs and not report.unknown_ops else "partial"
        counts[state] += 1
        detail = "" if state == "exact" else f" ours {ours} PyTorch {theirs} unknown {list(report.unknown_ops)[:4]}"
        lines.append(f"{module:32} {name:36} {state:8} {seconds:6.2f} s{detail}")
        print(lines[-1], flush=True)
    read = sum(counts[k] for k in ("exact", "partial", "refused", "traceback"))
    summary = (f"{len(families)} families, {read} read: {counts['exact']} exact ({counts['exact'] / max(read, 1):.1%}), "
               f"{counts['partial']} partial, {counts['refused']} refused, {counts['traceback']} tracebacks; "
               f"{counts['oracle failed']} the oracle could not run")
    Path(args.out).write_text(f"timm {timm.__version__}, torch {torch.__version__}\n{summary}\n\n" + "\n".join(lines) + "\n")
    print(summary)


if __name__ == "__main__":
    main()
