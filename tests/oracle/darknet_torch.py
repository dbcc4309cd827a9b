"""A Darknet .cfg built as a PyTorch module, written for the tests from Darknet's parser.c and layer sources
(AlexeyAB/darknet, public domain), independently of convcalc's reader: the oracle for output sizes,
parameters, buffers and MACs, and the per-layer BFLOPs Darknet prints, computed from the modules.

    model = DarknetModel(path)            # model.shape: C, H, W from [net]
    outputs = model(torch.empty(1, *model.shape, device="meta"))   # every layer's output, by number
    model.bflops(outputs)                 # Darknet's printout rule, layer by layer
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTS = {"logistic": nn.Sigmoid, "relu": nn.ReLU, "relu6": nn.ReLU6, "leaky": lambda: nn.LeakyReLU(0.1), "elu": nn.ELU,
        "tanh": nn.Tanh, "mish": nn.Mish, "swish": nn.SiLU, "gelu": nn.GELU, "linear": nn.Identity}


def sections(path):
    found = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            found.append((line[1:-1], {}))
        else:
            key, _, value = line.partition("=")
            found[-1][1].setdefault(key.strip(), value.strip())
    return found


class Layer(nn.Module):
    def __init__(self, kind, options, body=None):
        super().__init__()
        self.kind, self.options, self.body = kind, options, body


class DarknetModel(nn.Module):
    def __init__(self, path):
        super().__init__()
        parsed = sections(path)
        net = parsed[0][1]
        self.shape = (int(net["channels"]), int(net["height"]), int(net["width"]))
        self.layers = nn.ModuleList()
        channels = [self.shape[0]]  # output channels by layer number (the input: index -1)
        c = self.shape[0]
        for index, (kind, o) in enumerate(parsed[1:]):
            kind = {"conv": "convolutional", "max": "maxpool", "avg": "avgpool", "conn": "connected", "soft": "softmax",
                    "reorg3d": "reorg", "Gaussian_yolo": "yolo", "local_avg": "local_avgpool"}.get(kind, kind)
            get = lambda key, default: int(o.get(key, default))  # noqa: E731
            if kind == "convolutional":
                size, filters, stride = get("size", 1), get("filters", 1), get("stride", 1)
                pad = size // 2 if get("pad", 0) else get("padding", 0)
                bn = get("batch_normalize", 0)
                body = [nn.Conv2d(c, filters, size, stride, pad, groups=get("groups", 1), bias=not bn)]
                if bn:
                    body.append(nn.BatchNorm2d(filters))
                body.append(ACTS[o.get("activation", "logistic")]())
                layer, c = Layer(kind, o, nn.Sequential(*body)), filters
            elif kind == "connected":
                layer = Layer(kind, o, nn.Sequential(nn.Flatten(), nn.LazyLinear(get("output", 1)),
                                                     ACTS[o.get("activation", "logistic")]()))
                c = get("output", 1)
            elif kind == "route":
                numbers = [int(n) for n in o["layers"].split(",")]
                numbers = [index + n if n < 0 else n for n in numbers]
                layer = Layer(kind, o)
                layer.numbers = numbers
                c = sum(channels[n + 1] for n in numbers) // get("groups", 1)
            elif kind in ("shortcut", "scale_channels", "sam"):
                layer = Layer(kind, o, ACTS[o.get("activation", "linear")]())
                n = int(o["from"].split(",")[0])
                layer.numbers = [index + n if n < 0 else n]
                if kind != "shortcut":
                    c = channels[layer.numbers[0] + 1]
            elif kind == "reorg":
                c = c * get("stride", 1) ** 2
                layer = Layer(kind, o)
            else:
                layer = Layer(kind, o)
            self.layers.append(layer)
            channels.append(c)

    def forward(self, x):
        outputs = []
        for layer in self.layers:
            kind, o = layer.kind, layer.options
            get = lambda key, default: int(o.get(key, default))  # noqa: E731
            if kind in ("convolutional", "connected"):
                x = layer.body(x)
            elif kind in ("maxpool", "local_avgpool"):
                stride = get("stride", 1)
                size = get("size", stride)
                padding = get("padding", size - 1)
                before, after = padding // 2, padding - padding // 2  # Darknet's windows start at −⌊P/2⌋
                if kind == "maxpool":
                    x = F.max_pool2d(F.pad(x, (before, after, before, after), value=float("-inf")), size, stride)
                else:
                    x = F.avg_pool2d(F.pad(x, (before, after, before, after)), size, stride)
            elif kind == "avgpool":
                x = F.adaptive_avg_pool2d(x, 1)
            elif kind == "route":
                x = torch.cat([outputs[n] for n in layer.numbers], 1)
                groups, group = get("groups", 1), get("group_id", 0)
                if groups > 1:
                    part = x.shape[1] // groups
                    x = x[:, group * part:(group + 1) * part]
            elif kind == "shortcut":
                other = outputs[layer.numbers[0]]
                x = layer.body(x + other[:, :x.shape[1]])
            elif kind in ("scale_channels", "sam"):
                x = layer.body(outputs[layer.numbers[0]] * x)
            elif kind == "upsample":
                x = F.interpolate(x, scale_factor=get("stride", 2), mode="nearest")
            elif kind == "reorg":
                x = F.pixel_unshuffle(x, get("stride", 1))
            elif kind == "softmax":
                x = F.softmax(x, 1)
            outputs.append(x)
        return outputs

    def bflops(self, outputs):
        """Darknet's l.bflops of every layer, ×10⁹ (integers): convolutional 2·nweights·out_h·out_w, maxpool and local
        average pooling size²·c·out_h·out_w, shortcut out_w·out_h·out_c·n; the rest 0."""
        counts = []
        for layer, y in zip(self.layers, outputs):
            kind, o = layer.kind, layer.options
            if kind == "convolutional":
                conv = layer.body[0]
                nweights = conv.in_channels // conv.groups * conv.out_channels * conv.kernel_size[0] ** 2
                counts.append(2 * nweights * y.shape[2] * y.shape[3])
            elif kind in ("maxpool", "local_avgpool"):
                stride = int(o.get("stride", 1))
                size = int(o.get("size", stride))
                counts.append(size * size * y.shape[1] * y.shape[2] * y.shape[3])
            elif kind == "shortcut":
                counts.append(y.shape[1] * y.shape[2] * y.shape[3] * len(layer.numbers))
            else:
                counts.append(0)
        return counts
