"""Bundled networks built with other arguments, as torchvision (or d2l, d2l_models.py) builds them, for tests/test_arguments.py.

Writes tests/golden/variants_reference.json: for each (network, arguments, input) the figures
make_zoo_reference.record() takes (parameters, buffers, MACs, output shape, every conv/linear/pool
layer's output shape). Regenerate with torch and torchvision installed:

    pip install torch==2.14.1 torchvision==0.29.1
    python tests/oracle/make_variants_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "variants_reference.json"

EFFICIENTNETS = [  # torchvision's B1–B7: width, depth, resolution
    ("efficientnet_b1", 1.0, 1.1, 240), ("efficientnet_b2", 1.1, 1.2, 288), ("efficientnet_b3", 1.2, 1.4, 300),
    ("efficientnet_b4", 1.4, 1.8, 380), ("efficientnet_b5", 1.6, 2.2, 456), ("efficientnet_b6", 1.8, 2.6, 528),
    ("efficientnet_b7", 2.0, 3.1, 600),
]

# spec stem, convcalc arguments, torchvision keyword arguments, input shape (the model: the spec's
# own torchvision function, unless a fifth item names another)
VARIANTS = [
    ("mobilenet_v2", {"width": 0.5}, {"width_mult": 0.5}, (3, 224, 224)),
    ("mobilenet_v2", {"width": 0.75}, {"width_mult": 0.75}, (3, 224, 224)),
    ("mobilenet_v2", {"width": 1.4}, {"width_mult": 1.4}, (3, 224, 224)),
    ("mobilenet_v2", {"width": 0.35, "classes": 10}, {"width_mult": 0.35, "num_classes": 10}, (3, 160, 192)),
    ("resnet50", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    ("resnet18", {"classes": 100}, {"num_classes": 100}, (3, 64, 96)),
    ("alexnet", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    ("vgg11", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    ("squeezenet1_1", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    ("densenet121", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    ("googlenet", {"classes": 10}, {"num_classes": 10, "aux_logits": False, "init_weights": False}, (3, 224, 224)),
    ("convnext_tiny", {"classes": 10}, {"num_classes": 10}, (3, 224, 224)),
    *[("efficientnet_b0", {"width": w, "depth": d}, {}, (3, r, r), name) for name, w, d, r in EFFICIENTNETS],
    # d2l's VGG-11 (8.2) on Fashion-MNIST resized: the full widths, and the quarter widths the book trains
    ("vgg11", {"classes": 10}, {}, (1, 224, 224), "d2l.vgg"),
    ("vgg11", {"classes": 10, "ratio": 4}, {"arch": ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128))}, (1, 224, 224), "d2l.vgg"),
]


def main() -> None:
    import torch
    import torchvision

    from make_zoo_reference import record

    found = []
    for stem, arguments, kwargs, shape, *other in VARIANTS:
        name = other[0] if other else stem
        if name.startswith("d2l."):
            from d2l_models import MODELS

            model, built_by = MODELS[name[4:]](**kwargs), f"d2l_models.{name[4:]}(**{kwargs})"
        else:
            model, built_by = torchvision.models.get_model(name, weights=None, **kwargs), f"torchvision.models.{name}(**{kwargs})"
        entry = {"network": stem, "arguments": arguments, "input_shape": list(shape), "torchvision": built_by, **record(model, shape)}
        found.append(entry)
        print(stem, arguments, entry["params"], entry["macs"], flush=True)
    OUT.write_text(json.dumps({"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
                               "variants": found}, indent=1) + "\n")


if __name__ == "__main__":
    main()
