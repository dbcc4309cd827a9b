"""What fvcore, torchinfo, calflops and ptflops themselves print for a few torchvision networks, and
ptflops for a few Ultralytics models, for the `--count` tests (tests/test_count.py).

Writes tests/golden/count_reference.json: for each network and batch, each peer's total as the
peer computes it — fvcore's FlopCountAnalysis (model in eval and in train mode), torchinfo's
"Total mult-adds", calflops' FLOPs, and ptflops' get_model_complexity_info with its default backend
(batch 1 only: ptflops builds its own input of one sample). The bundled networks by their
description; the attention networks (`"source": "pytorch"`) read by convcalc from torchvision's code;
the Ultralytics models (`"source": "ultralytics"`) built by Ultralytics from its own YAML file, which
convcalc reads. Regenerate with the peers installed:

    pip install torch==2.14.1 torchvision==0.29.1 fvcore torchinfo calflops ptflops ultralytics
    python tests/oracle/make_count_reference.py
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "count_reference.json"

# spec stem (= torchvision's function), input shape, batch
CASES = [
    ("resnet18", (3, 224, 224), 1), ("resnet50", (3, 224, 224), 2), ("vgg11", (3, 224, 224), 1),
    ("alexnet", (3, 224, 224), 1), ("mobilenet_v2", (3, 224, 224), 1), ("densenet121", (3, 224, 224), 1),
    ("efficientnet_b0", (3, 224, 224), 1), ("convnext_tiny", (3, 224, 224), 1), ("squeezenet1_0", (3, 224, 224), 1),
    ("fcn_resnet50", (3, 224, 320), 1), ("mobilenet_v3_large", (3, 224, 224), 1), ("resnet18", (3, 160, 128), 3),
]
# torchvision networks with attention, not bundled: convcalc reads them from PyTorch
PYTORCH_CASES = [("vit_b_16", (3, 224, 224), 1), ("swin_t", (3, 224, 224), 1), ("swin_v2_t", (3, 256, 256), 1),
                 ("swin_s", (3, 200, 300), 1), ("maxvit_t", (3, 224, 224), 1)]
# Ultralytics' model files (under ultralytics/cfg/models), at 640×640
ULTRALYTICS_CASES = ["v8/yolov8n.yaml", "11/yolo11n.yaml", "v5/yolov5n.yaml", "v10/yolov10n.yaml", "12/yolo12n.yaml",
                     "v8/yolov8n-seg.yaml", "v8/yolov8n-pose.yaml", "v8/yolov8n-cls.yaml"]


def build(name: str):
    import torchvision

    kwargs = {"weights_backbone": None, "aux_loss": False} if name.startswith(("fcn", "deeplab")) else {}
    return torchvision.models.get_model(name, weights=None, **kwargs)


def fvcore_count(model, x, train: bool) -> int:
    from fvcore.nn import FlopCountAnalysis

    model.train(train)
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total())


def torchinfo_count(model, x) -> int:
    from torchinfo import summary

    model.eval()
    return int(summary(model, input_data=x, verbose=0).total_mult_adds)


def calflops_count(model, x) -> int:
    from calflops import calculate_flops

    model.eval()
    flops, _macs, _params = calculate_flops(model, input_shape=tuple(x.shape), output_as_string=False, print_results=False,
                                            print_detailed=False)
    return int(flops)


def ptflops_count(model, shape) -> int:
    import io

    from ptflops import get_model_complexity_info

    model.eval()
    macs, _params = get_model_complexity_info(model, tuple(shape), as_strings=False, print_per_layer_stat=False,
                                              ost=io.StringIO())
    return int(macs)


def ultralytics_model(name: str):
    import contextlib
    import io

    import ultralytics
    from ultralytics.nn import tasks

    path = Path(ultralytics.__file__).parent / "cfg" / "models" / name
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        task = tasks.guess_model_task(tasks.yaml_model_load(str(path)))
        kinds = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel, "pose": tasks.PoseModel,
                 "classify": tasks.ClassificationModel}
        return kinds[task](str(path), verbose=False).eval()


def main() -> None:
    import fvcore
    import torch
    import torchinfo

    logging.disable(logging.WARNING)
    found = []
    for name, shape, batch in CASES + PYTORCH_CASES:
        torch.manual_seed(0)
        model = build(name)
        x = torch.randn(batch, *shape)
        with torch.no_grad():
            entry = {"network": name, "input_shape": list(shape), "batch": batch,
                     **({"source": "pytorch"} if (name, shape, batch) in PYTORCH_CASES else {}),
                     "fvcore": fvcore_count(model, x, train=False), "fvcore-train": fvcore_count(model, x, train=True),
                     "torchinfo": torchinfo_count(model, x), "calflops": calflops_count(model, x)}
        if batch == 1:
            entry["ptflops"] = ptflops_count(model, shape)
        found.append(entry)
        print(entry, flush=True)
    for name in ULTRALYTICS_CASES:
        model = ultralytics_model(name)
        entry = {"network": name, "input_shape": [3, 640, 640], "batch": 1, "source": "ultralytics",
                 "ptflops": ptflops_count(model, (3, 640, 640))}
        found.append(entry)
        print(entry, flush=True)
    from importlib.metadata import version

    versions = {"torch": torch.__version__, "fvcore": version("fvcore"), "torchinfo": torchinfo.__version__,
                "calflops": version("calflops"), "ptflops": version("ptflops"), "ultralytics": version("ultralytics")}
    OUT.write_text(json.dumps({"versions": versions, "cases": found}, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
