"""Build every zoo network that torchvision, timm or d2l (its code in d2l_models.py) defines and record what PyTorch says of it.

Writes tests/golden/zoo_reference.json, which tests/test_zoo.py compares convcalc against (so the
test suite itself needs no torchvision). Regenerate with an environment holding torch, torchvision
and timm:

    pip install torch==2.14.1 torchvision==0.29.1 timm
    python tests/oracle/make_zoo_reference.py [STEM …]      (only those networks' entries, the rest kept)

For VGG-16, ResNet-50, MobileNetV2 and GoogLeNet it also records receptive fields the way a
gradient sees them: every weight made positive, batchnorm, activations and dropout made identity,
max pooling made average pooling over the same window; then, for a spread of layers, the
input-gradient of the middle output position is non-zero exactly on the cells that reach it.

For each network: parameters and buffers (numel of model.parameters() and model.buffers()), the
output shape, and every convolution, linear and pooling module's output shape in execution order
(channel-first, no batch axis), found with forward hooks on a 1×3×224×224 input. MACs are counted
from those hooks with the definition convcalc states — (C_i/g)·C_o·∏K per output element of a
convolution, in·out per output row of a linear layer — or, for a network with attention, by PyTorch's
own FLOP counter (math attention, halved); and checked against torchvision's own
published figure (weights.meta["_ops"], GFLOPS) and parameter count (meta["num_params"]).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import torch
import torchvision
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "zoo_reference.json"

POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
         nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool2d)
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def sources() -> dict[str, tuple[str, str]]:
    """spec stem → (library, model name), from each description's `source:` line."""
    found = {}
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        match = re.search(r"^source:\s*(torchvision|timm|d2l)\s+(\w+)\s*$", path.read_text(), re.M)
        if match:
            found[path.stem] = (match.group(1), match.group(2))
    return found


def build(library: str, name: str, size=None) -> nn.Module:
    if library == "d2l":
        from d2l_models import MODELS

        return MODELS[name]()
    if library == "timm":
        import timm

        return timm.create_model(name, pretrained=False)
    kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
    if name.startswith(("fcn_", "deeplabv3_")):
        kwargs = {"weights_backbone": None}  # no download; no auxiliary head
    if name.startswith("vit_") and size is not None:
        kwargs = {"image_size": size[1]}  # a ViT is built for one (square) image size: its position embedding
    return torchvision.models.get_model(name, weights=None, **kwargs)


# every network is also checked at two more input sizes, one of them not square
OTHER_SIZES = {"default": [(3, 160, 160), (3, 192, 256)], "fcn_resnet50": [(3, 500, 500), (3, 224, 320)],
               "deeplabv3_resnet50": [(3, 513, 513), (3, 224, 320)], "r3d_18": [(3, 8, 112, 112), (3, 16, 96, 128)],
               "inception_v3": [(3, 256, 256), (3, 299, 352)], "d2l_lenet": [(1, 32, 32), (1, 28, 36)],
               "d2l_alexnet": [(1, 192, 192), (1, 160, 256)], "d2l_nin": [(1, 192, 192), (1, 160, 256)],
               "d2l_bn_lenet": [(1, 32, 32), (1, 28, 36)], "d2l_googlenet": [(1, 128, 128), (1, 96, 160)],
               "d2l_resnet18": [(1, 224, 224), (1, 96, 160)], "d2l_densenet": [(1, 128, 128), (1, 96, 160)],
               "inception": [(192, 14, 14), (64, 28, 20)], "residual": [(3, 8, 8), (3, 6, 10)],
               "dense_block": [(3, 16, 16), (5, 8, 12)], "transition": [(23, 16, 16), (23, 8, 12)],
               "vgg_block": [(3, 64, 64), (3, 32, 48)], "nin_block": [(1, 112, 112), (3, 96, 128)],
               "vit_b_16": [(3, 160, 160), (3, 384, 384)]}  # square: torchvision's ViT takes one image size


def channel_first(module: nn.Module, shape: tuple[int, ...]) -> list[int]:
    if isinstance(module, nn.Linear) and len(shape) > 1:  # channels-last MLP (ConvNeXt)
        return [shape[-1], *shape[:-1]]
    return list(shape)


def record(model: nn.Module, input_shape=(3, 224, 224)) -> dict:
    layers, macs = [], [0]
    attention = any(isinstance(m, nn.MultiheadAttention) or type(m).__name__.startswith("ShiftedWindowAttention") for m in model.modules())
    counted = attention_macs(model.eval(), input_shape) if attention else None  # before the hooks: one forward pass each

    def hook(module, inputs, output):
        shape = tuple(output.shape[1:])
        if isinstance(module, CONVS):
            kind = "conv"
            macs[0] += math.prod(shape) * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        elif isinstance(module, nn.Linear):
            kind = "linear"
            macs[0] += output.numel() // output.shape[0] * module.in_features
        else:
            kind = "pool"
        layers.append([kind, channel_first(module, shape)])

    for module in model.modules():
        if isinstance(module, (*CONVS, nn.Linear, *POOLS)):
            module.register_forward_hook(hook)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *input_shape))
        out = out["out"] if isinstance(out, dict) else out  # segmentation models return a dict
    if counted is not None:
        macs[0] = counted
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": sum(b.numel() for b in model.buffers()),
        "macs": macs[0],
        "output_shape": list(out.shape[1:]),
        "layers": layers,
    }


def attention_macs(model: nn.Module, input_shape) -> int:
    """Hooks miss attention's products and the projections it calls as functions: PyTorch's own FLOP counter,
    with gradients on (no fused inference path) and the math kernel, halved."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        model(torch.zeros(1, *input_shape))
    return counter.get_total_flops() // 2


RF_INPUT = {"vgg16": 256, "resnet50": 512, "mobilenet_v2": 544, "googlenet": 448}  # big enough that fields fit
RF_LAYERS = 8  # layers per network, spread from the first to the last


def positive_and_linear(module: nn.Module) -> None:
    """All weights positive, biases zero, every non-linearity and normalisation an identity."""
    for name, child in module.named_children():
        if isinstance(child, (nn.ReLU, nn.ReLU6, nn.BatchNorm2d, nn.Dropout)):
            setattr(module, name, nn.Identity())
        elif isinstance(child, nn.MaxPool2d):
            assert child.dilation == 1
            setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding, ceil_mode=child.ceil_mode))
        else:
            positive_and_linear(child)
        if isinstance(child, (*CONVS, nn.Linear)):
            child.weight.data.fill_(1.0 / child.weight[0].numel())
            if child.bias is not None:
                child.bias.data.zero_()


def gradient_fields(model: nn.Module, size: int) -> list[dict]:
    positive_and_linear(model)
    model.double().eval()
    outputs = []
    for module in model.modules():
        if isinstance(module, (*CONVS, nn.Linear, *POOLS)):
            module.register_forward_hook(lambda m, i, o: outputs.append(o))
    x = torch.ones(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    model(x)
    spatial = [i for i, o in enumerate(outputs) if o.dim() == 4]
    chosen = sorted({spatial[round(j * (len(spatial) - 1) / (RF_LAYERS - 1))] for j in range(RF_LAYERS)})
    fields = []
    for index in chosen:
        out = outputs[index]
        unit = [out.shape[2] // 2, out.shape[3] // 2]
        (grad,) = torch.autograd.grad(out[0, :, unit[0], unit[1]].sum(), x, retain_graph=True)
        nonzero = grad[0].abs().sum(0) > 0
        rows, cols = nonzero.any(1).nonzero().flatten(), nonzero.any(0).nonzero().flatten()
        fields.append({"layer": index, "unit": unit, "low": [int(rows.min()), int(cols.min())],
                       "high": [int(rows.max()) + 1, int(cols.max()) + 1]})
    return fields


def published(library: str, name: str) -> dict:
    if library != "torchvision" or name.startswith(("fcn_", "deeplabv3_")) or name == "inception_v3":
        return {}  # their published figures include the auxiliary classifier
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    return {"num_params": meta["num_params"], "gflops": meta["_ops"]}


DEFAULT_INPUT = {"fcn_resnet50": (3, 520, 520), "deeplabv3_resnet50": (3, 520, 520), "r3d_18": (3, 16, 112, 112),
                 "inception_v3": (3, 299, 299), "darknet53": (3, 256, 256), "cspdarknet53": (3, 256, 256),
                 "d2l_lenet": (1, 28, 28), "d2l_alexnet": (1, 224, 224), "d2l_nin": (1, 224, 224),
                 "d2l_bn_lenet": (1, 28, 28), "d2l_googlenet": (1, 96, 96), "d2l_resnet18": (1, 96, 96),
                 "d2l_densenet": (1, 96, 96), "inception": (192, 28, 28), "residual": (3, 6, 6), "dense_block": (3, 8, 8),
                 "transition": (23, 8, 8), "vgg_block": (3, 224, 224), "nin_block": (1, 224, 224)}


def main(stems: list[str]) -> int:
    """Every network, or with stems given only those, their entries replaced in the file."""
    reference = json.loads(OUT.read_text())["networks"] if stems else {}
    for stem, (library, name) in sources().items():
        if stems and stem not in stems:
            continue
        model = build(library, name)
        default = DEFAULT_INPUT.get(stem, (3, 224, 224))
        entry = {"library": library, "model": name, "input_shape": list(default), **record(model, default),
                 "published": published(library, name)}
        entry["other_sizes"] = {"x".join(map(str, size)): record(build(library, name, size), size)
                                for size in OTHER_SIZES.get(stem, OTHER_SIZES["default"])}
        if entry["published"]:
            assert entry["published"]["num_params"] == entry["params"], stem
            assert round(entry["macs"] / 1e9, 3) == entry["published"]["gflops"], (stem, entry["macs"])
        if stem in RF_INPUT:  # by stem: d2l's googlenet is not torchvision's
            entry["receptive_fields"] = {"input": [3, RF_INPUT[stem], RF_INPUT[stem]],
                                         "fields": gradient_fields(build(library, name), RF_INPUT[stem])}
        reference[stem] = entry
        print(f"{stem}: {entry['params']:,} parameters, {entry['macs']:,} MACs, {len(entry['layers'])} layers")
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    try:
        import timm

        versions["timm"] = timm.__version__
    except ImportError:
        pass
    OUT.write_text(json.dumps({"versions": versions, "networks": reference}, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
