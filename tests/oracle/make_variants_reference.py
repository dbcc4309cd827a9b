"""Bundled networks built with other arguments, as torchvision builds them, for tests/test_arguments.py.

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

# spec stem, convcalc arguments, torchvision keyword arguments, input shape
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
]


def main() -> None:
    import torch
    import torchvision

    from make_zoo_reference import record

    found = []
    for stem, arguments, kwargs, shape in VARIANTS:
        model = torchvision.models.get_model(stem, weights=None, **kwargs)
        entry = {"network": stem, "arguments": arguments, "input_shape": list(shape),
                 "torchvision": f"torchvision.models.{stem}(**{kwargs})", **record(model, shape)}
        found.append(entry)
        print(stem, arguments, entry["params"], entry["macs"], flush=True)
    OUT.write_text(json.dumps({"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
                               "variants": found}, indent=1) + "\n")


if __name__ == "__main__":
    main()
