"""Ultralytics' model files (`yolov8n.yaml`, `yolo11s-seg.yaml`, `yolov5su.yaml`: the YAML under the
`ultralytics` package's cfg/models/) read natively, onto the graph builder, without PyTorch.

A file lists `[from, repeats, module, args]` rows under `backbone:` and `head:`. As Ultralytics'
parse_model reads them: a scale (`scales: {n: [depth, width, max_channels]}`, chosen by the letter
in the file's name, `yolov8n.yaml` → n, or `--set scale=s`) multiplies the repeats (round(n·depth),
at least 1) and the channels (min(c, max_channels)·width, rounded up to a multiple of 8); `nc`
(`--set nc=…`) sizes the heads. Each module becomes a block of convcalc layers, named by its row
number as Ultralytics prints them, with its parts (cv1, m.0, …) inside: every convolution with its
batchnorm and activation, splits, concatenations and shortcuts, so that each layer has its shape,
parameters, MACs and receptive field. Two parts are one row each, with their MACs worked out here:
the attention product of the PSA blocks (q·kᵀ and the weighted values: heads·N²·(key_dim + head_dim)
for N positions) and the detection head's decoding (the DFL's 1×1 convolution of reg_max weights on
4 values per anchor, then boxes and scores gathered over all anchors).

A module convcalc does not know is one error naming it, the file and the line.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

from ..core.errors import ConvcalcError, SpecError, quote
from ..core.layers import (AdaptivePool, Conv, ConvTranspose, Elementwise, Flatten, Linear, Norm, Pad, Pool, Resize, Scale, Slice,
                           Subgraph, Upsample)
from ..core.messages import Note
from ..core.network import Network
from .graph import GraphBuilder

ACTIVATIONS = {"SiLU": "silu", "ReLU": "relu", "LeakyReLU": "leaky_relu", "Hardswish": "hardswish", "GELU": "gelu",
               "Mish": "mish", "Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU6": "relu6"}
SCALE_IN_NAME = re.compile(r"yolo(e-)?[v]?\d+([nslmxb])")
HEADS = ("Detect", "Segment", "Segment26", "Pose", "Pose26", "OBB", "OBB26", "v10Detect")
MAX_REPEATS = 1000  # a row's repeats, before the depth multiple: Ultralytics' files use at most 9


def make_divisible(x: float, divisor: int = 8) -> int:
    """Ultralytics' channel rounding: up to a multiple of 8."""
    return math.ceil(x / divisor) * divisor


def model_file(path: Path) -> tuple[Path, str | None]:
    """The file to read and the scale its name asks for: `yolov8n.yaml` reads yolov8.yaml at scale n, as
    Ultralytics does when no such file exists."""
    match = SCALE_IN_NAME.search(path.stem)
    scale = match.group(2) if match else None
    if path.exists():
        return path, scale
    unified = path.with_name(re.sub(r"(\d+)([nslmxb])(.+)?$", r"\1\3", path.stem) + path.suffix)
    return (unified, scale) if unified.exists() else (path, scale)


class Model:
    """The rows of an Ultralytics file as convcalc layers: scopes for the blocks, a name for every value."""

    def __init__(self, filename: str, shape: tuple, act: str, fuse: bool = False):
        self.builder = GraphBuilder("input", shape, filename)
        self.filename, self.act, self.stack, self.count, self.fuse = filename, act, [], 0, fuse

    @contextmanager
    def scope(self, name: str, kind: str):
        self.count += 1
        self.stack.append((self.count, name, kind))
        try:
            yield
        finally:
            self.stack.pop()

    def add(self, layer, label: str, x: str) -> str:
        self.count += 1
        out = f"v{self.count}"
        self.builder.scope = tuple(self.stack)
        self.builder.add(layer, label, x, out)
        return out

    def join(self, op: str, xs: list[str], label: str) -> str:
        if len(xs) == 1:
            return xs[0]
        self.count += 1
        out = f"v{self.count}"
        self.builder.scope = tuple(self.stack)
        self.builder.join(op, xs, out, label, self.builder.place)
        return out

    def channels(self, x: str) -> int:
        return self.builder.shapes[x][0]

    def conv(self, x: str, c2: int, k=1, s=1, p=None, g=1, d=1, act=True, name="conv") -> str:
        """Ultralytics' Conv: a convolution without bias ('same' padding by autopad), batchnorm, activation."""
        k2 = k if isinstance(k, int) else tuple(k)
        if p is None:
            p = (d * (k - 1) + 1) // 2 if d > 1 and isinstance(k, int) else (k // 2 if isinstance(k, int) else tuple(v // 2 for v in k))
        with self.scope(name, "Conv"):
            y = self.add(Conv(c2, k2, s, p, d, g, self.fuse), "conv", x)  # fused: the batchnorm is the convolution's bias
            if not self.fuse:
                y = self.add(Norm(True), "bn", y)
            if act is True:
                act = self.act
            if act:
                y = self.add(Elementwise(act), act, y)
        return y

    def dwconv(self, x: str, c2: int, k=1, s=1, d=1, act=True, name="conv") -> str:
        return self.conv(x, c2, k, s, None, math.gcd(self.channels(x), c2), d, act, name)

    def split(self, x: str, sizes: list[int]) -> list[str]:
        parts, start = [], 0
        for size in sizes:
            parts.append(self.add(Slice(start, size), "split", x))
            start += size
        return parts


# the modules: each builds its layers from its input value(s) and Ultralytics' arguments, as its __init__ and forward do


def bottleneck(m: Model, x, c2, shortcut=True, g=1, k=(3, 3), e=0.5, name="m") -> str:
    c1, c_ = m.channels(x), int(c2 * e)
    with m.scope(name, "Bottleneck"):
        y = m.conv(m.conv(x, c_, k[0], name="cv1"), c2, k[1], g=g, name="cv2")
        return m.join("add", [x, y], "add") if shortcut and c1 == c2 else y


def c3(m: Model, x, c2, n=1, shortcut=True, g=1, e=0.5, k=(1, 3)) -> str:
    c_ = int(c2 * e)
    a = m.conv(x, c_, 1, name="cv1")
    for i in range(n):
        a = bottleneck(m, a, c_, shortcut, g, k, 1.0, f"m.{i}")
    b = m.conv(x, c_, 1, name="cv2")
    return m.conv(m.join("concat", [a, b], "cat"), c2, 1, name="cv3")


def c2f(m: Model, x, c2, n=1, shortcut=False, g=1, e=0.5, inner=None) -> str:
    c = int(c2 * e)
    ys = m.split(m.conv(x, 2 * c, 1, name="cv1"), [c, c])
    for i in range(n):
        ys.append(inner(ys[-1], c, f"m.{i}") if inner else bottleneck(m, ys[-1], c, shortcut, g, (3, 3), 1.0, f"m.{i}"))
    return m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv2")


def c3k2(m: Model, x, c2, n=1, c3k=False, e=0.5, attn=False, g=1, shortcut=True) -> str:
    def inner(y, c, name):
        if attn:
            with m.scope(name, "Sequential"):
                return psa_block(m, bottleneck(m, y, c, shortcut, g, name="0"), 0.5, max(c // 64, 1), name="1")
        if c3k:
            with m.scope(name, "C3k"):
                return c3(m, y, c, 2, shortcut, g, 0.5, (3, 3))
        return bottleneck(m, y, c, shortcut, g, name=name)

    return c2f(m, x, c2, n, shortcut, g, e, inner)


def attention(m: Model, x, num_heads=8, attn_ratio=0.5, name="attn") -> str:
    dim = m.channels(x)
    head_dim = dim // num_heads
    key_dim = int(head_dim * attn_ratio)
    with m.scope(name, "Attention"):
        qkv = m.conv(x, dim + 2 * key_dim * num_heads, 1, act=False, name="qkv")
        positions = math.prod(m.builder.shapes[x][1:])
        products = num_heads * positions * positions * (key_dim + head_dim)  # q·kᵀ, then the values weighted
        shape = (dim, *m.builder.shapes[x][1:])
        y = m.add(Subgraph(Note("attention of {heads} heads over {n} positions", heads=num_heads, n=positions), shape, 0, 0,
                           products, products), "attention", qkv)
        v = m.add(Slice(2 * key_dim * num_heads, dim), "v", qkv)  # each head's values (interleaved in the model)
        y = m.join("add", [y, m.conv(v, dim, 3, g=dim, act=False, name="pe")], "add")
        return m.conv(y, dim, 1, act=False, name="proj")


def psa_block(m: Model, x, attn_ratio=0.5, num_heads=4, shortcut=True, name="m") -> str:
    c = m.channels(x)
    with m.scope(name, "PSABlock"):
        y = attention(m, x, num_heads, attn_ratio)
        x = m.join("add", [x, y], "add") if shortcut else y
        with m.scope("ffn", "Sequential"):
            y = m.conv(m.conv(x, 2 * c, 1, name="0"), c, 1, act=False, name="1")
        return m.join("add", [x, y], "add") if shortcut else y


def c2psa(m: Model, x, c2, n=1, e=0.5) -> str:
    c1 = m.channels(x)
    c = int(c1 * e)
    a, b = m.split(m.conv(x, 2 * c, 1, name="cv1"), [c, c])
    for i in range(n):
        b = psa_block(m, b, 0.5, max(c // 64, 1), name=f"m.{i}")
    return m.conv(m.join("concat", [a, b], "cat"), c1, 1, name="cv2")


def sppf(m: Model, x, c2, k=5, n=3, shortcut=False, legacy=True) -> str:
    c1 = m.channels(x)
    ys = [m.conv(x, c1 // 2, 1, act=legacy, name="cv1")]  # a legacy row ([c2, k]) keeps cv1's activation
    for _ in range(n):
        ys.append(m.add(Pool(k, 1, k // 2), "m", ys[-1]))
    y = m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv2")
    return m.join("add", [y, x], "add") if shortcut and c1 == c2 else y


def spp(m: Model, x, c2, k=(5, 9, 13)) -> str:
    y = m.conv(x, m.channels(x) // 2, 1, name="cv1")
    pools = [m.add(Pool(size, 1, size // 2), f"m.{i}", y) for i, size in enumerate(k)]
    return m.conv(m.join("concat", [y, *pools], "cat"), c2, 1, name="cv2")


def classify(m: Model, x, c2, k=1, s=1, p=None, g=1) -> str:
    y = m.conv(x, 1280, k, s, p, g, name="conv")
    y = m.add(Flatten(), "flatten", m.add(AdaptivePool(1, "global_avgpool"), "pool", y))
    y = m.add(Elementwise("dropout"), "drop", y)
    y = m.add(Linear(c2), "linear", y)  # then x.softmax(1): a tensor method, no module (thop counts none), no MACs
    return m.add(Subgraph(Note("softmax over the classes"), (c2,)), "softmax", y)


def branch(m: Model, x, c_mid, c_out, name, light=False) -> str:
    """One level's branch of a head: two 3×3 convolutions (or, light, depthwise 3×3 then 1×1, twice), a plain 1×1 convolution.
    v10Detect's Conv(x, x, 3, g=x) is the same depthwise convolution as DWConv(x, x, 3)."""
    with m.scope(name, "Sequential"):
        if light:
            y = x
            for index, c_in in enumerate((m.channels(x), c_mid)):
                with m.scope(str(index), "Sequential"):
                    y = m.conv(m.dwconv(y, c_in, 3, name="0"), c_mid, 1, name="1")
        else:
            y = m.conv(m.conv(x, c_mid, 3, name="0"), c_mid, 3, name="1")
        return m.add(Conv(c_out, 1), "2", y)


def detect(m: Model, xs, nc=80, reg_max=16, end2end=False, kind="Detect", extra=None, legacy=False, **options) -> str:
    """Detect and the heads built on it: per level a box branch (4·reg_max) and a class branch (nc), and for Segment,
    Pose and OBB a third (mask coefficients, keypoints, angles); Segment's prototype masks; the decoding."""
    ch = [m.channels(x) for x in xs]
    c2, c3_ = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
    light = not legacy or kind == "v10Detect"
    heads = [("cv2", c2, 4 * reg_max, False), ("cv3", c3_, nc, light)]
    if extra is not None:
        c4 = max(ch[0] // 4, options["kpt"][0] * (options["kpt"][1] + 2)) if kind == "Pose26" else max(ch[0] // 4, extra)
        heads.append(("cv4", c4, extra, False))
    copies = (["one2one_"] if m.fuse else ["", "one2one_"]) if end2end else [""]  # fused: the branch inference uses
    outs = []
    for prefix in copies:
        for head, c_mid, c_out, is_light in heads:
            for i, x in enumerate(xs):
                outs.append(branch(m, x, c_mid, c_out, f"{prefix}{head}.{i}", is_light))
    unrun = (0, 0)  # parameters and buffers that only training runs
    if kind == "Pose26" and not m.fuse:
        sigmas = options["kpt"][0] * 2  # σx, σy per keypoint: a 1×1 convolution per level and copy, run in training only
        mlp = 2 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2  # RealNVP's s and t networks: 2 → 64 → 64 → 2, six of each
        unrun = (len(copies) * len(xs) * (c4 * sigmas + sigmas) + 12 * mlp, 2 + 4 + 12)  # its loc, cov and masks
    if kind == "Segment26" and not m.fuse:  # the semantic branch, run in training only
        c_ = options["npr"]
        unrun = (ch[0] * 9 * c_ + 2 * c_ + c_ * 9 * c_ + 2 * c_ + c_ * nc + nc, 2 * (2 * c_ + 1))
    anchors = sum(math.prod(m.builder.shapes[x][1:]) for x in xs)
    dfl = reg_max * 4 * anchors if reg_max > 1 else 0  # the DFL: a 1×1 convolution of reg_max weights on 4 values per anchor
    rows = 4 + nc + (extra or 0)
    proto = None
    if unrun != (0, 0):
        m.add(Subgraph(Note("parts only training runs"), m.builder.shapes[xs[0]], *unrun), "training_only", xs[0])
    if kind in ("Segment", "Segment26"):
        with m.scope("proto", "Proto26" if kind == "Segment26" else "Proto"):
            feature = xs[0]
            if kind == "Segment26":  # the other levels brought to the first's size and added, then fused
                for i, x in enumerate(xs[1:]):
                    y = m.add(Upsample(2 ** (i + 1)), f"interpolate{i}", m.conv(x, ch[0], 1, name=f"feat_refine.{i}"))
                    feature = m.join("add", [feature, y], "add")
                feature = m.conv(feature, options["npr"], 3, name="feat_fuse")
            p = m.conv(feature, options["npr"], 3, name="cv1")
            p = m.add(ConvTranspose(options["npr"], 2, 2, 0), "upsample", p)
            proto = m.conv(m.conv(p, options["npr"], 3, name="cv2"), extra, 1, name="cv3")
    shape = (rows, anchors)
    decoded = m.add(Subgraph(Note("boxes decoded (DFL) and gathered over {anchors} anchors", anchors=anchors), shape,
                             reg_max if reg_max > 1 else 0, 0, dfl, dfl), "decode", outs[0])
    return decoded if proto is None else (decoded, proto)


def rep_conv(m: Model, x, c2, k=3, s=1, p=1, g=1, name="cv1") -> str:
    """RepConv as trained (unfused): a 3×3 and a 1×1 convolution with batchnorm, added, then the activation."""
    with m.scope(name, "RepConv"):
        if m.fuse:  # its fuse_convs: the 1×1 branch folded into the 3×3 one
            return m.conv(x, c2, k, s, p, g, name="conv")
        y = m.join("add", [m.conv(x, c2, k, s, p, g, act=False, name="conv1"), m.conv(x, c2, 1, s, p - k // 2, g, act=False, name="conv2")],
                   "add")
        return m.add(Elementwise(m.act), m.act, y)


def rep_csp(m: Model, x, c2, n=1, shortcut=True, g=1, e=0.5, name="0") -> str:
    c_ = int(c2 * e)
    with m.scope(name, "RepCSP"):
        a = m.conv(x, c_, 1, name="cv1")
        for i in range(n):
            with m.scope(f"m.{i}", "RepBottleneck"):
                y = m.conv(rep_conv(m, a, c_), c_, 3, g=g, name="cv2")
                a = m.join("add", [a, y], "add") if shortcut else y
        b = m.conv(x, c_, 1, name="cv2")
        return m.conv(m.join("concat", [a, b], "cat"), c2, 1, name="cv3")


def rep_ncsp_elan4(m: Model, x, c2, c3_, c4, n=1) -> str:
    ys = m.split(m.conv(x, c3_, 1, name="cv1"), [c3_ // 2, c3_ - c3_ // 2])
    for name in ("cv2", "cv3"):
        with m.scope(name, "Sequential"):
            ys.append(m.conv(rep_csp(m, ys[-1], c4, n), c4, 3, name="1"))
    return m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv4")


def elan1(m: Model, x, c2, c3_, c4) -> str:
    ys = m.split(m.conv(x, c3_, 1, name="cv1"), [c3_ // 2, c3_ - c3_ // 2])
    ys.append(m.conv(ys[-1], c4, 3, name="cv2"))
    ys.append(m.conv(ys[-1], c4, 3, name="cv3"))
    return m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv4")


def average_first(m: Model, x) -> str:
    return m.add(Pool(2, 1, 0, kind="avgpool", functional=True), "avg_pool", x)  # F.avg_pool2d(x, 2, 1, 0, False, True)


def adown(m: Model, x, c2) -> str:
    pooled = average_first(m, x)
    c1 = m.channels(pooled)
    a, b = m.split(pooled, [c1 // 2, c1 - c1 // 2])
    a = m.conv(a, c2 // 2, 3, 2, 1, name="cv1")
    b = m.conv(m.add(Pool(3, 2, 1), "max_pool", b), c2 // 2, 1, 1, 0, name="cv2")
    return m.join("concat", [a, b], "cat")


def aconv(m: Model, x, c2) -> str:
    return m.conv(average_first(m, x), c2, 3, 2, 1, name="cv1")


def sppelan(m: Model, x, c2, c3_, k=5) -> str:
    ys = [m.conv(x, c3_, 1, name="cv1")]
    for name in ("cv2", "cv3", "cv4"):
        ys.append(m.add(Pool(k, 1, k // 2), name, ys[-1]))
    return m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv5")


def cblinear(m: Model, x, c2s, k=1, s=1, p=None, g=1) -> list:
    y = m.add(Conv(sum(c2s), k, s, k // 2 if p is None else p, 1, g, True), "conv", x)
    return m.split(y, list(c2s))


def cbfuse(m: Model, xs, idx) -> str:
    target = m.builder.shapes[xs[-1]][1:]
    parts = [m.add(Resize(size=tuple(target), mode="nearest"), f"interpolate{i}", x[idx[i]]) for i, x in enumerate(xs[:-1])]
    return m.join("add", [*parts, xs[-1]], "sum")


def scdown(m: Model, x, c2, k, s) -> str:
    y = m.conv(x, c2, 1, name="cv1")
    return m.conv(y, c2, k, s, g=c2, act=False, name="cv2")


def psa(m: Model, x, c2, e=0.5) -> str:
    c1 = m.channels(x)
    c = int(c1 * e)
    a, b = m.split(m.conv(x, 2 * c, 1, name="cv1"), [c, c])
    b = m.join("add", [b, attention(m, b, max(c // 64, 1), 0.5)], "add")
    with m.scope("ffn", "Sequential"):
        y = m.conv(m.conv(b, 2 * c, 1, name="0"), c, 1, act=False, name="1")
    b = m.join("add", [b, y], "add")
    return m.conv(m.join("concat", [a, b], "cat"), c1, 1, name="cv2")


def c2fcib(m: Model, x, c2, n=1, shortcut=False, lk=False, g=1, e=0.5) -> str:
    def cib(y, c, name):
        with m.scope(name, "CIB"):
            with m.scope("cv1", "Sequential"):
                z = m.conv(m.conv(y, c, 3, g=c, name="0"), 2 * c, 1, name="1")
                if lk and m.fuse:  # RepVGGDW.fuse: the 3×3 branch folded into the 7×7 one
                    with m.scope("2", "RepVGGDW"):
                        z = m.add(Elementwise("silu"), "silu", m.conv(z, 2 * c, 7, 1, 3, g=2 * c, act=False, name="conv"))
                elif lk:
                    with m.scope("2", "RepVGGDW"):
                        z = m.join("add", [m.conv(z, 2 * c, 7, 1, 3, g=2 * c, act=False, name="conv"),
                                           m.conv(z, 2 * c, 3, 1, 1, g=2 * c, act=False, name="conv1")], "add")
                        z = m.add(Elementwise("silu"), "silu", z)
                else:
                    z = m.conv(z, 2 * c, 3, g=2 * c, name="2")
                z = m.conv(m.conv(z, c, 1, name="3"), c, 3, g=c, name="4")
            return m.join("add", [y, z], "add") if shortcut else z

    return c2f(m, x, c2, n, shortcut, g, e, cib)


def c2(m: Model, x, c2_, n=1, shortcut=True, g=1, e=0.5) -> str:
    c = int(c2_ * e)
    a, b = m.split(m.conv(x, 2 * c, 1, name="cv1"), [c, c])
    for i in range(n):
        a = bottleneck(m, a, c, shortcut, g, (3, 3), 1.0, f"m.{i}")
    return m.conv(m.join("concat", [a, b], "cat"), c2_, 1, name="cv2")


def ghost_conv(m: Model, x, c2_, k=1, s=1, g=1, act=True, name="conv") -> str:
    c_ = c2_ // 2
    with m.scope(name, "GhostConv"):
        y = m.conv(x, c_, k, s, None, g, act=act, name="cv1")
        return m.join("concat", [y, m.conv(y, c_, 5, 1, None, c_, act=act, name="cv2")], "cat")


def c3ghost(m: Model, x, c2_, n=1, shortcut=True, g=1, e=0.5) -> str:
    c_ = int(c2_ * e)
    a = m.conv(x, c_, 1, name="cv1")
    for i in range(n):
        with m.scope(f"m.{i}", "GhostBottleneck"):
            y = ghost_conv(m, ghost_conv(m, a, c_ // 2, 1, 1, name="conv.0"), c_, 1, 1, act=False, name="conv.2")
            a = m.join("add", [y, a], "add")
    b = m.conv(x, c_, 1, name="cv2")
    return m.conv(m.join("concat", [a, b], "cat"), c2_, 1, name="cv3")


def max_pool(m: Model, x, kernel_size, stride=None, padding=0) -> str:
    return m.add(Pool(kernel_size, stride if stride is not None else kernel_size, padding), "maxpool", x)


def zero_pad(m: Model, x, padding) -> str:
    pad = tuple(padding) if isinstance(padding, (list, tuple)) else (padding,) * 4
    return m.add(Pad(((pad[2], pad[3]), (pad[0], pad[1]))), "pad", x)


def conv_transpose(m: Model, x, c2_, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True) -> str:
    return m.add(ConvTranspose(c2_, kernel_size, stride, padding, output_padding, 1, groups, bias), "conv_transpose", x)


def area_attention(m: Model, x, num_heads, area=1, name="attn") -> str:
    """YOLO12's area attention: the positions cut into `area` groups, each attending within itself."""
    dim = m.channels(x)
    head_dim = dim // num_heads
    width = head_dim * num_heads
    with m.scope(name, "AAttn"):
        qkv = m.conv(x, 3 * width, 1, act=False, name="qkv")
        positions = math.prod(m.builder.shapes[x][1:])
        products = num_heads * positions * (positions // area) * 2 * head_dim  # per area (N/area)² pairs, q·kᵀ and weighted v
        y = m.add(Subgraph(Note("attention of {heads} heads over {n} positions", heads=num_heads, n=positions),
                           (width, *m.builder.shapes[x][1:]), 0, 0, products, products), "attention", qkv)
        v = m.add(Slice(2 * width, width), "v", qkv)  # each head's values (interleaved in the model)
        y = m.join("add", [y, m.conv(v, width, 7, 1, 3, g=width, act=False, name="pe")], "add")
        return m.conv(y, dim, 1, act=False, name="proj")


def a2c2f(m: Model, x, c2, n=1, a2=True, area=1, residual=False, mlp_ratio=2.0, e=0.5, g=1, shortcut=True) -> str:
    c_ = int(c2 * e)
    ys = [m.conv(x, c_, 1, name="cv1")]
    for i in range(n):
        with m.scope(f"m.{i}", "Sequential" if a2 else "C3k"):
            y = ys[-1]
            if a2:
                for j in range(2):
                    with m.scope(str(j), "ABlock"):
                        y = m.join("add", [y, area_attention(m, y, c_ // 32, area)], "add")
                        with m.scope("mlp", "Sequential"):
                            z = m.conv(m.conv(y, int(c_ * mlp_ratio), 1, name="0"), c_, 1, act=False, name="1")
                        y = m.join("add", [y, z], "add")
            else:
                y = c3(m, y, c_, 2, shortcut, g, 0.5, (3, 3))
        ys.append(y)
    y = m.conv(m.join("concat", ys, "cat"), c2, 1, name="cv2")
    if a2 and residual:  # x + γ·y, γ one learned value per channel
        y = m.join("add", [x, m.add(Scale(), "gamma", y)], "add")
    return y


def resnet_layer(m: Model, x, c1, c2_, s=1, is_first=False, n=1, e=4) -> str:
    with m.scope("layer", "Sequential"):
        if is_first:
            return m.add(Pool(3, 2, 1), "1", m.conv(x, c2_, 7, 2, 3, name="0"))
        for i in range(n):
            with m.scope(str(i), "ResNetBlock"):
                c_in, stride = m.channels(x), s if i == 0 else 1
                y = m.conv(m.conv(m.conv(x, c2_, 1, name="cv1"), c2_, 3, stride, 1, name="cv2"), e * c2_, 1, act=False, name="cv3")
                short = m.conv(x, e * c2_, 1, stride, act=False, name="shortcut") if stride != 1 or c_in != e * c2_ else x
                x = m.add(Elementwise("relu"), "relu", m.join("add", [y, short], "add"))
        return x


def depth_head(m: Model, xs, c_mid=256) -> str:
    """YOLO26's depth head: the levels projected, upsampled (bilinear) and refined from the coarsest, then a small decoder
    to one log-depth map at a quarter of the input; its calibration (two buffers) scales it."""
    feats = [m.conv(x, c_mid, 1, name=f"proj.{i}") for i, x in enumerate(xs)]
    out = feats[-1]
    for i in range(len(xs) - 2, -1, -1):
        out = m.join("add", [m.add(Resize(factor=2, mode="bilinear"), "interpolate", out), feats[i]], "add")
        with m.scope(f"refine.{i}", "Sequential"):
            out = m.conv(m.conv(out, c_mid, 3, name="0"), c_mid, 3, name="1")
    with m.scope("head", "Sequential"):
        out = m.add(ConvTranspose(c_mid // 2, 2, 2, 0), "1", m.conv(out, c_mid // 2, 3, name="0"))
        out = m.add(Conv(1, 1), "3", m.conv(out, c_mid // 4, 3, name="2"))
    return m.add(Subgraph(Note("depth calibration"), m.builder.shapes[out], 0, 2), "calibration", out)


def semantic_head(m: Model, xs, nc=19) -> str:
    """YOLO26's semantic segmentation head: a 3×3 convolution and a 1×1 classifier on the finest level; its auxiliary
    head on the next level runs in training only."""
    c_mid = m.channels(xs[0])
    with m.scope("classifier", "Sequential"):
        logits = m.add(Conv(nc, 1), "1", m.conv(xs[0], c_mid, 3, name="0"))
    if len(xs) > 1:
        c1 = m.channels(xs[1])
        norm = (c_mid, 0) if m.fuse else (2 * c_mid, 2 * c_mid + 1)  # fused: its batchnorm is the convolution's bias
        m.add(Subgraph(Note("parts only training runs"), m.builder.shapes[xs[1]], c1 * 9 * c_mid + norm[0] + c_mid * nc + nc,
                       norm[1]), "aux_head", xs[1])
    return logits


def concat(m: Model, xs, dimension=1) -> str:
    return m.join("concat", xs, "cat")


def upsample(m: Model, x, size=None, scale_factor=2, mode="nearest") -> str:
    if size not in (None, "None") or mode != "nearest":
        raise ValueError(f"size={size}, mode={mode}")
    return m.add(Upsample(int(scale_factor)), "upsample", x)


BUILDERS = {"Conv": lambda m, x, c2, k=1, s=1, p=None, g=1, d=1, act=True: m.conv(x, c2, k, s, p, g, d, act, name="conv"),
            "DWConv": lambda m, x, c2, k=1, s=1, d=1, act=True: m.dwconv(x, c2, k, s, d, act, name="conv"),
            "GhostConv": ghost_conv, "Bottleneck": bottleneck, "C2f": c2f, "C2": c2, "C3": c3, "C3k2": c3k2, "C3Ghost": c3ghost,
            "C2PSA": c2psa, "SPPF": sppf, "SPP": spp, "Classify": classify, "Concat": concat, "nn.Upsample": upsample,
            "RepNCSPELAN4": rep_ncsp_elan4, "ELAN1": elan1, "ADown": adown, "AConv": aconv, "SPPELAN": sppelan, "CBLinear": cblinear,
            "CBFuse": cbfuse, "SCDown": scdown, "PSA": psa, "C2fCIB": c2fcib, "nn.MaxPool2d": max_pool, "nn.ZeroPad2d": zero_pad,
            "nn.ConvTranspose2d": conv_transpose, "nn.Identity": lambda m, x, *args: x, "A2C2f": a2c2f, "ResNetLayer": resnet_layer,
            "Depth": depth_head, "SemanticSegment": semantic_head}
# channels scaled by width (Ultralytics' base_modules), and those whose repeats go into the module
BASE = {"Conv", "DWConv", "GhostConv", "Bottleneck", "C2f", "C2", "C3", "C3k2", "C3Ghost", "C2PSA", "SPPF", "SPP", "Classify",
        "RepNCSPELAN4", "ELAN1", "ADown", "AConv", "SPPELAN", "SCDown", "PSA", "C2fCIB", "nn.ConvTranspose2d", "A2C2f"}
REPEATED = {"C2f", "C2", "C3", "C3k2", "C3Ghost", "C2PSA", "C2fCIB", "A2C2f"}


def read_ultralytics(raw: dict, filename: str, shape: tuple | None, arguments: dict | None, path_scale: str | None = None,
                     fuse: bool = False) -> Network:
    """An Ultralytics model file, already read as YAML, as a convcalc network."""
    arguments = dict(arguments or {})
    unknown = [k for k in arguments if k not in ("scale", "nc")]
    if unknown:
        raise SpecError(Note("--set: an Ultralytics model file takes scale and nc, got {value}", value=quote(unknown[0])))
    nc = arguments.get("nc", raw.get("nc", 80))
    if type(nc) is not int or not 1 <= nc <= 1_000_000:
        raise SpecError(Note("{filename}: nc: the number of classes, a whole number from 1 to 1,000,000, got {value}",
                             filename=filename, value=quote(nc)))
    for key in ("backbone", "head"):
        if not isinstance(raw[key], list):
            raise SpecError(Note("{filename}: {key}: a list of [from, repeats, module, args] rows, got {value}", filename=filename,
                                 key=key, value=quote(raw[key])))
    scales, scale = raw.get("scales"), arguments.get("scale", path_scale)
    for key, entry in scales.items() if isinstance(scales, dict) else [] if scales is None else [("scales", scales)]:
        if not (isinstance(entry, list) and len(entry) == 3 and all(type(v) in (int, float) and 0 < v < 1e9 for v in entry)):
            raise SpecError(Note("{filename}: scales: {key}: [depth, width, max_channels], three positive numbers, got {value}",
                                 filename=filename, key=key, value=quote(entry)))
    depth, width, max_channels = raw.get("depth_multiple", 1.0), raw.get("width_multiple", 1.0), float("inf")
    if scales:
        if scale not in scales:
            if scale is not None and "scale" in arguments:
                raise SpecError(Note("--set scale: {filename} declares the scales {items}, got {value}", filename=filename,
                                     items=", ".join(map(str, scales)), value=quote(scale)))
            scale = next(iter(scales))
        depth, width, max_channels = scales[scale]
    act = raw.get("activation")
    act_kind = "silu"
    if act:
        name = re.sub(r"^(torch\.)?nn\.", "", str(act)).split("(")[0]
        if name not in ACTIVATIONS:
            raise SpecError(Note("{filename}: activation: convcalc knows {items}, got {value}", filename=filename,
                                 items=", ".join(ACTIVATIONS), value=quote(act)))
        act_kind = ACTIVATIONS[name]
    own = (raw.get("ch", 3), 640, 640)
    if shape:
        from .inputs import check_override

        check_override(tuple(shape), own, Path(filename).name)
    shape = tuple(shape) if shape else own
    model = Model(filename, shape, act_kind, fuse)
    rows = list(raw["backbone"]) + list(raw["head"])
    values, legacy, outputs = [], True, []
    lines = getattr(raw["backbone"], "item_lines", [])
    head_lines = getattr(raw["head"], "item_lines", [])
    all_lines = list(lines) + list(head_lines)
    for i, row in enumerate(rows):
        line = all_lines[i] if i < len(all_lines) else 0
        where = f"{filename}:{line}"
        if not (isinstance(row, list) and len(row) == 4 and isinstance(row[2], str) and isinstance(row[3], list)):
            raise SpecError(Note("{where}: a row is [from, repeats, module, args], got {value}", where=where, value=quote(row)))
        f, n, name, args = row
        if name not in BUILDERS and name not in HEADS:
            raise SpecError(Note("{where}: convcalc has no formula for the Ultralytics module {module}, got {value}", where=where,
                                 module=name, value=quote(name)))
        args = [argument(a, nc, raw) for a in args]
        if type(n) is not int or not 1 <= n <= MAX_REPEATS:
            raise SpecError(Note("{where}: repeats: a whole number from 1 to {most:,}, got {value}", where=where, most=MAX_REPEATS,
                                 value=quote(n)))
        n = max(round(n * depth), 1) if n > 1 else n
        froms = f if isinstance(f, list) else [f]
        if not froms or any(type(s) is not int or not -i - 1 <= s < i for s in froms):
            raise SpecError(Note("{where}: from: earlier rows (0 to {last}, or −1 to −{count}), got {value}", where=where,
                                 last=i - 1, count=i + 1, value=quote(f)))
        sources = [values[s] if s >= 0 else (values[i + s] if i + s >= 0 else "input") for s in froms]
        model.builder.place = f"{where}: {i}"
        try:
            with model.scope(str(i), name):
                out = build(model, name, sources, n, args, nc, width, max_channels, scale, raw, legacy)
        except ConvcalcError:
            raise  # a layer the arguments make impossible: the core's words, with the row's place
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):  # arguments of the wrong kind or number
            raise SpecError(Note("{where}: {module} cannot take these arguments, got {value}", where=where, module=name,
                                 value=quote(args))) from None
        if name in ("C3k2", "C2fCIB", "A2C2f"):
            legacy = False
        if isinstance(out, tuple):
            outputs = [model.builder.shapes[o] for o in out]
            out = out[0]
        values.append(out)
    last = values[-1]
    body = model.builder.finish([last])
    name = Path(filename).stem
    if scales:  # yolov8.yaml at scale n is YOLOv8n, as Ultralytics names it
        name = re.sub(r"^(yolo(?:e-)?v?\d+)", lambda found: found.group(1) + str(scale), name, count=1)
    return Network(name, shape, body, f"Ultralytics {filename}" + (f" (scale {scale})" if scales else ""),
                   tuple(outputs) if len(outputs) > 1 else ())


def argument(value, nc, raw):
    """A row's argument as parse_model reads it: `nc` and the file's own keys by name, "None" or "[1, 2]" as Python literals."""
    if not isinstance(value, str):
        return value
    if value == "nc":
        return nc
    if value in raw and value not in ("backbone", "head", "scales"):
        return raw[value]
    import ast

    try:
        return ast.literal_eval(value) if len(value) < 100 else value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value  # a word (nn.Upsample's "nearest")


def build(model: Model, name: str, sources: list, n: int, args: list, nc, width, max_channels, scale, raw, legacy):
    """One row's module on its inputs, its arguments completed as Ultralytics' parse_model completes them."""
    x = sources[0]
    if name in BASE:
        c2 = args[0] if name == "Classify" else make_divisible(min(args[0], max_channels) * width)  # Classify keeps nc
        rest = list(args[1:])
        if name in REPEATED:
            rest.insert(0, n)
            n = 1
        if name == "C3k2" and scale in ("m", "l", "x"):
            rest[1:2] = [True]
        if name == "A2C2f" and scale in ("l", "x"):
            rest.extend((True, 1.2))
        make = BUILDERS[name]
        if name == "SPPF":  # a legacy row ([c2, k]) keeps cv1's activation; YOLO26's ([c2, k, n, shortcut]) has none
            make = partial(sppf, legacy=len(args) <= 2)
        out = x
        for index in range(n):
            with model.scope(str(index), name) if n > 1 else nullcontext():
                out = make(model, out, c2, *rest)
        return out
    if name in HEADS:
        options = {"legacy": legacy, "kind": name}
        reg_max, end2end = raw.get("reg_max", 16), bool(raw.get("end2end", False))
        if name == "v10Detect":
            return detect(model, sources, args[0], 16, True, **options)
        if name in ("Segment", "Segment26"):
            nm, npr = (list(args[1:3]) + [32, 256][len(args[1:3]):])[:2]
            npr = make_divisible(min(npr, max_channels) * width)
            return detect(model, sources, args[0], reg_max, end2end, extra=nm, npr=npr, **options)
        if name in ("Pose", "Pose26"):
            kpt = args[1] if len(args) > 1 else raw.get("kpt_shape", (17, 3))
            kpt = raw.get("kpt_shape", kpt) if kpt == "kpt_shape" else kpt
            return detect(model, sources, args[0], reg_max, end2end, extra=kpt[0] * kpt[1], kpt=kpt, **options)
        if name in ("OBB", "OBB26"):  # OBB26 keeps OBB's layers (it only leaves the angles unsquashed)
            return detect(model, sources, args[0], reg_max, end2end, extra=args[1] if len(args) > 1 else 1, **options)
        return detect(model, sources, args[0], reg_max, end2end, **options)
    if name in ("Concat", "CBFuse", "Depth", "SemanticSegment"):  # several inputs
        return BUILDERS[name](model, sources, *args[:1])
    return BUILDERS[name](model, x, *args)
