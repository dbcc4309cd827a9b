"""Every model YAML shipped with the installed `ultralytics`, at every scale it declares, read by convcalc and
compared with the model Ultralytics builds from it: parameters (sum(p.numel())), MACs (PyTorch's FlopCounterMode
÷ 2, on a 640×640 input on the CPU), the first output's shape, and `--count thop` × 2 against the GFLOPs Ultralytics
prints (its get_flops); with --fuse, against Ultralytics' fuse(). Results: benchmarks/results/ultralytics_sweep.txt.

    python benchmarks/ultralytics_sweep.py [--fuse] [--scales n,s] [files…]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import re
import sys
from pathlib import Path


def scaled_names(path: Path, scales) -> list[str]:
    """yolov8-seg.yaml at scale s is yolov8s-seg.yaml, as Ultralytics names it."""
    if not scales or len(scales) == 1 and re.match(r"yolo(?:e-)?v?\d+[nslmxb]", path.stem):
        return [path.name]  # yolov10n.yaml: its one scale in its name
    names = []
    for scale in scales:
        name, n = re.subn(r"^(yolo(?:e-)?v?\d+)", lambda m: m.group(1) + scale, path.stem)
        names.append((name if n else path.stem) + ".yaml")
    return names


def oracle(torch, path: str, fuse: bool = False):
    from torch.utils.flop_counter import FlopCounterMode
    from ultralytics.nn import tasks

    models = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel, "pose": tasks.PoseModel, "obb": tasks.OBBModel,
              "classify": tasks.ClassificationModel, "depth": getattr(tasks, "DepthModel", None),
              "semantic": getattr(tasks, "SemanticSegmentationModel", None)}
    described = tasks.yaml_model_load(path)
    task = "rtdetr" if "RTDETRDecoder" in str(described["head"]) else tasks.guess_model_task(described)
    models["rtdetr"] = tasks.RTDETRDetectionModel
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model = models[task](path, verbose=False).eval()
        if fuse:
            model = model.fuse(verbose=False)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(1, 3, 640, 640))
    first = out
    while isinstance(first, (tuple, list)):  # (predictions, raw) or ((predictions, masks), …): the predictions
        first = first[0]
    from ultralytics.utils.torch_utils import get_flops

    return params, counter.get_total_flops() // 2, tuple(first.shape[1:]), round(get_flops(model, 640) * 1e9 / 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="")
    parser.add_argument("--fuse", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    import torch
    import ultralytics
    import yaml

    from convcalc import analyze
    from convcalc.core.counting import count
    from convcalc.formats.spec import load

    logging.getLogger("ultralytics").setLevel(logging.ERROR)
    folder = Path(ultralytics.__file__).parent / "cfg" / "models"
    files = [folder / f for f in args.files] if args.files else sorted(folder.glob("*/*.yaml"))
    exact = total = 0
    for path in files:
        declared = list((yaml.safe_load(path.read_text()).get("scales") or {}))
        wanted = [s for s in declared if not args.scales or s in args.scales.split(",")]
        for name in scaled_names(path, wanted):
            target = path.with_name(name)
            total += 1
            try:
                params, macs, shape, thop = oracle(torch, str(target), args.fuse)
            except Exception as error:  # noqa: BLE001 — Ultralytics itself cannot build it here: said, not counted
                total -= 1
                print(f"{path.parent.name}/{name:32} Ultralytics cannot build it: {type(error).__name__}: {str(error)[:80]}")
                continue
            try:
                report = analyze(load(target, fuse=args.fuse))
            except Exception as error:  # noqa: BLE001
                print(f"{path.parent.name}/{name:32} convcalc: {str(error)[:150]}")
                continue
            counted = sum(count("thop", row, 1) for row in report.rows if row.leaf)
            same = (report.params, report.macs, tuple(report.output_shape), counted) == (params, macs, shape, thop)
            exact += same
            print(f"{path.parent.name}/{name:32} {'exact' if same else 'DIFFERS'}  params {report.params:,} / {params:,}  "
                  f"MACs {report.macs:,} / {macs:,}  output {'×'.join(map(str, report.output_shape))} / {'×'.join(map(str, shape))}  "
                  f"GFLOPs {2 * counted / 1e9:.4f} / {2 * thop / 1e9:.4f}")
            sys.stdout.flush()
    print(f"{exact} of {total} exact (parameters, MACs, output shape and GFLOPs equal to the model Ultralytics builds"
          f"{', fused' if args.fuse else ''})")


if __name__ == "__main__":
    main()
