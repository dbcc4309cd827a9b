"""A convcalc network written as PyTorch code (`convcalc export NET --to torch`): one self-contained
Python file with an `nn.Module` per block and `build() -> nn.Module`.

The writer walks the network as the analysis does (shapes from the same formulas), so every layer
gets its input channels; a block used again with the same input becomes the same class, instantiated
again. A block that reads or gives outputs by id (U-Net's skips) is written inline in its parent. The
file needs only torch; the layers torch.nn lacks (LeNet's subsampling and partial connection
table, a linear layer or layer norm on the channels at each position, ConvNeXt's layer scale, ViT's
class token and position embedding, space-to-depth with padding, attention in all its forms) are
small classes written into it, which the PyTorch reader maps back by name and attributes.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from typing import NamedTuple

from ..core.errors import ConvcalcError, quote
from ..core.formulas import analyze_layer, non_negative, pad_pairs, per_axis
from ..core.messages import Note
from ..core.network import Group, LayerNode, Merge, Network, Ref, Repeat, merged_shape

ACTIVATIONS = {"relu": "nn.ReLU()", "relu6": "nn.ReLU6()", "leaky_relu": "nn.LeakyReLU()", "elu": "nn.ELU()", "gelu": "nn.GELU()",
               "silu": "nn.SiLU()", "swish": "nn.SiLU()", "mish": "nn.Mish()", "sigmoid": "nn.Sigmoid()", "tanh": "nn.Tanh()",
               "hardswish": "nn.Hardswish()", "hardsigmoid": "nn.Hardsigmoid()", "softmax": "nn.Softmax(dim=1)",
               "dropout": "nn.Dropout()", "identity": "nn.Identity()"}

HELPERS = {
    "ChannelLinear": '''
class ChannelLinear(nn.Linear):
    """A linear layer on the channels at each position (the input keeps its spatial axes)."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "ChannelLayerNorm": '''
class ChannelLayerNorm(nn.LayerNorm):
    """Layer normalisation over the channels at each position."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "LayerScale": '''
class LayerScale(nn.Module):
    """A learned multiplier per channel."""

    def __init__(self, channels, dims):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels, *([1] * dims)))

    def forward(self, x):
        return self.scale * x
''',
    "Subsample": '''
class Subsample(nn.Module):
    """LeNet-5's subsampling: the sum of each window times a learned coefficient, plus a learned bias, per map."""

    def __init__(self, channels, kernel, stride):
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        area = 1
        for k in self.kernel:
            area *= k
        summed = F.avg_pool2d(x, self.kernel, self.stride) * area
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
''',
    "PartialConv": '''
class PartialConv(nn.Module):
    """A convolution whose output map o reads only the input maps table[o] (LeNet-5's C3)."""

    def __init__(self, table, kernel, stride, bias):
        super().__init__()
        self.table = [list(row) for row in table]
        self.maps = nn.ModuleList(nn.Conv2d(len(row), 1, kernel, stride, bias=bias) for row in self.table)

    def forward(self, x):
        return torch.cat([conv(x[:, row]) for conv, row in zip(self.maps, self.table)], dim=1)
''',
    "SpaceToDepth": """
class SpaceToDepth(nn.Module):
    \"\"\"Each factor-sized block of positions folded into the channels (nn.PixelUnshuffle's order, any number of
    spatial axes); with pad, sizes the factor does not divide are first padded with zeros at the end.\"\"\"

    def __init__(self, factor, pad):
        super().__init__()
        self.factor, self.pad = factor, pad

    def forward(self, x):
        r, n = self.factor, x.dim() - 2
        if self.pad:
            x = F.pad(x, [v for m in reversed(x.shape[2:]) for v in (0, -m % r)])
        b, c, *sizes = x.shape
        x = x.reshape(b, c, *[v for m in sizes for v in (m // r, r)])
        x = x.permute(0, 1, *range(3, 2 * n + 2, 2), *range(2, 2 * n + 2, 2))
        return x.reshape(b, c * r ** n, *[m // r for m in sizes])
""",
    "SelfAttention": """
class SelfAttention(nn.Module):
    \"\"\"Multi-head self-attention over the positions of a channels-first input: all of them (window None), or
    within windows (the input padded at the end to a multiple, cyclically shifted by shift, regions the shift
    brings together masked apart, as Swin), or within a grid of windows spaced evenly (MaxViT's). position_bias:
    a learned bias per head and relative offset, from a table or (mlp) from a 2-layer MLP on the offsets; cosine:
    cosine attention with a learned scale per head (Swin V2).\"\"\"

    def __init__(self, channels, heads, bias, window, shift, grid, position_bias, cosine, sizes):
        super().__init__()
        self.heads, self.grid, self.position_bias, self.cosine = heads, grid, position_bias, cosine
        self.window = tuple(window) if window is not None else None
        self.shift = tuple(shift)
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.proj = nn.Linear(channels, channels, bias=bias)
        if position_bias != "none":  # each pair of positions of a window: the index of their relative offset
            w = self.window
            offsets = torch.stack(torch.meshgrid(*[torch.arange(1 - a, a) for a in w], indexing="ij"), -1).reshape(-1, len(w))
            inside = torch.stack(torch.meshgrid(*[torch.arange(a) for a in w], indexing="ij"), -1).reshape(-1, len(w))
            pair = inside[:, None, :] - inside[None, :, :] + torch.tensor(w) - 1
            index = torch.zeros(pair.shape[:2], dtype=torch.long)
            for axis, a in enumerate(w):
                index = index * (2 * a - 1) + pair[..., axis]
            self.register_buffer("relative_position_index", index)
        if position_bias == "table":
            self.relative_position_bias_table = nn.Parameter(torch.zeros(len(offsets), heads))
        if position_bias == "mlp":  # Swin V2's log-spaced offsets
            coords = offsets.float() / torch.tensor([max(a - 1, 1) for a in w]) * 8
            self.register_buffer("relative_coords_table", torch.sign(coords) * torch.log2(coords.abs() + 1.0) / 3.0)
            self.cpb_mlp = nn.Sequential(nn.Linear(len(w), 512), nn.ReLU(), nn.Linear(512, heads, bias=False))
        if cosine:
            self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), 2.302585))

    def forward(self, x):
        b, c, *sizes = x.shape
        n, w = len(sizes), self.window or tuple(sizes)
        x = x.movedim(1, -1)
        if not self.grid:
            x = F.pad(x, [0, 0] + [v for m, a in zip(reversed(sizes), reversed(w)) for v in (0, -m % a)])
        padded = x.shape[1:-1]
        shift = [s if a < m else 0 for s, a, m in zip(self.shift, w, padded)]
        if any(shift):
            x = torch.roll(x, [-s for s in shift], list(range(1, n + 1)))
        split = [v for m, a in zip(padded, w) for v in ((a, m // a) if self.grid else (m // a, a))]
        outer = [2 * i + (1 if self.grid else 0) for i in range(n)]  # which factor numbers the windows
        order = [0] + [1 + i for i in outer] + [2 + 2 * i - (1 if self.grid else 0) for i in range(n)] + [2 * n + 1]
        x = x.reshape(b, *split, c).permute(order)
        windows = x.shape[1:n + 1]
        x = x.reshape(-1, prod(w), c)
        qkv_bias = self.qkv.bias
        if self.cosine and qkv_bias is not None:  # Swin V2 learns no key bias
            qkv_bias = torch.cat([qkv_bias[:c], torch.zeros_like(qkv_bias[c:2 * c]), qkv_bias[2 * c:]])
        qkv = F.linear(x, self.qkv.weight, qkv_bias)
        q, k, v = qkv.reshape(x.shape[0], x.shape[1], 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.cosine:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            attn = attn * torch.clamp(self.logit_scale, max=4.605170).exp()
        else:
            attn = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        if self.position_bias != "none":
            table = self.relative_position_bias_table if self.position_bias == "table" else self.cpb_mlp(self.relative_coords_table)
            bias = table[self.relative_position_index.reshape(-1)].reshape(prod(w), prod(w), -1).permute(2, 0, 1)
            attn = attn + (16 * torch.sigmoid(bias) if self.position_bias == "mlp" else bias)
        if any(shift):  # positions the roll brought together from opposite edges do not attend to each other
            region = torch.zeros(padded, dtype=torch.long, device=x.device)
            for axis, (m, a, s) in enumerate(zip(padded, w, shift)):
                label = torch.zeros(m, dtype=torch.long, device=x.device)
                if s:
                    label[m - a:m - s], label[m - s:] = 1, 2
                region = region * 3 + label.reshape([-1 if i == axis else 1 for i in range(n)])
            region = region.reshape(split).permute([o - 1 for o in order[1:-1]]).reshape(-1, prod(w))
            mask = (region[:, None, :] != region[:, :, None]).float() * -100.0
            attn = (attn.reshape(b, -1, self.heads, prod(w), prod(w)) + mask[None, :, None]).reshape(attn.shape)
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(-1, prod(w), c)
        x = self.proj(x).reshape(b, *windows, *w, c)
        x = x.permute([order.index(i) for i in range(len(order))]).reshape(b, *padded, c)
        if any(shift):
            x = torch.roll(x, shift, list(range(1, n + 1)))
        return x[(slice(None), *[slice(0, m) for m in sizes])].movedim(-1, 1)
""",
    "ClassToken": """
class ClassToken(nn.Module):
    \"\"\"A learned token put before the first position of a C×L sequence.\"\"\"

    def __init__(self, channels):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, channels, 1))

    def forward(self, x):
        return torch.cat([self.token.expand(x.shape[0], -1, -1), x], dim=2)
""",
    "PositionEmbedding": """
class PositionEmbedding(nn.Module):
    \"\"\"A learned embedding added at every position.\"\"\"

    def __init__(self, shape):
        super().__init__()
        self.embedding = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        return x + self.embedding
""",
}


# nn.Module's own public attributes (torch 2.x): a submodule of one of these names would replace a method
# or a flag, and the module would recurse or fail (tests/test_export.py compares this with dir(nn.Module))
MODULE_ATTRIBUTES = frozenset("""
T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches eval
extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia
named_buffers named_children named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook register_full_backward_pre_hook
register_load_state_dict_post_hook register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory
state_dict to to_empty train training type xpu zero_grad""".split())
# the module-level names the written file defines or imports: a block's class must not take one
FILE_NAMES = frozenset({"F", "nn", "torch", "prod", "Network", "INPUT_SHAPE", "build", *HELPERS})


def identifier(name: str) -> str:
    """A layer's name as an attribute: letters, digits and _ as Python reads them (NFKC, so two names
    that Python would read as one are one here too), never a keyword or one of nn.Module's own names."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c if ("a" + c).isidentifier() else "_" for c in text).strip("_") or "layer"
    text = unicodedata.normalize("NFKC", text)
    if not text.isidentifier():
        text = f"m{text}"
    return f"{text}_" if keyword.iskeyword(text) or text in MODULE_ATTRIBUTES else text


def class_name(kind: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", kind)
    name = "".join(w[:1].upper() + w[1:] for w in words if w) or "Block"
    name = name if not name[0].isdigit() else f"Block{name}"
    return f"{name}Block" if keyword.iskeyword(name) or name in FILE_NAMES else name


class Scope:
    """One forward method being written: module attributes, statements, variable names."""

    def __init__(self):
        self.init: list[str] = []
        self.forward: list[str] = []
        self.attrs: set[str] = set()
        self.vars = 0
        self.ids: dict[str, tuple[str, tuple, tuple]] = {}  # id → (variable, shape, jump)

    def attr(self, name: str, expression: str) -> str:
        base = identifier(name)
        attr, n = base, 1
        while attr in self.attrs:
            n += 1
            attr = f"{base}_{n}"
        self.attrs.add(attr)
        self.init.append(f"self.{attr} = {expression}")
        return attr

    def var(self) -> str:
        self.vars += 1
        return f"x{self.vars}"



class Site(NamedTuple):
    """Where one layer is written: what a writer needs to give its statements."""

    helpers: set  # the helper classes the file will need
    layer: object
    cost: object  # the layer's LayerCost on this input
    name: str
    var: str  # the input variable
    out: str  # the output variable
    shape: tuple  # the input shape
    scope: Scope
    target: tuple | None  # for `like`: the earlier output's variable and shape

    @property
    def n(self) -> int:
        return len(self.shape) - 1

    @property
    def c_in(self) -> int:
        return self.shape[0]

    def module(self, expression: str) -> list[str]:
        """The layer as a submodule called on the input."""
        return [f"{self.out} = self.{self.scope.attr(self.name, expression)}({self.var})"]

    def helper(self, name: str, expression: str) -> list[str]:
        self.helpers.add(name)
        return self.module(expression)


def write_conv(site: Site) -> list[str]:
    layer, cost, out, var = site.layer, site.cost, site.out, site.var
    pads = [(g.pad_before, g.pad_after) for g in cost.axes]
    k, s, d = (tuple(getattr(g, f) for g in cost.axes) for f in ("kernel", "stride", "dilation"))
    lines, source = [], var
    if any(b != a for b, a in pads):
        lines.append(f"{out} = F.pad({var}, {tuple(v for b, a in reversed(pads) for v in (b, a))!r})")
        source, padding = out, 0
    else:
        padding = tuple(b for b, _ in pads)
    if layer.table is not None:
        site.helpers.add("PartialConv")
        attr = site.scope.attr(site.name, f"PartialConv({tuple(tuple(r) for r in layer.table)!r}, {k!r}, {s!r}, {layer.bias})")
        if padding and any(padding):
            raise ConvcalcError(Note("export: a connection table with padding has no PyTorch form here, got layer {name}", name=site.name))
        return lines + [f"{out} = self.{attr}({source})"]
    attr = site.scope.attr(site.name, f"nn.Conv{site.n}d({site.c_in}, {cost.output_shape[0]}, kernel_size={k!r}, stride={s!r}, "
                                      f"padding={padding!r}, dilation={d!r}, groups={layer.groups}, bias={layer.bias})")
    return lines + [f"{out} = self.{attr}({source})"]


def write_conv_transpose(site: Site) -> list[str]:
    g, layer = site.cost.axes, site.layer
    return site.module(f"nn.ConvTranspose{site.n}d({site.c_in}, {site.cost.output_shape[0]}, kernel_size={tuple(a.kernel for a in g)!r}, "
                       f"stride={tuple(a.stride for a in g)!r}, padding={tuple(a.padding for a in g)!r}, "
                       f"output_padding={tuple(a.output_padding for a in g)!r}, groups={layer.groups}, bias={layer.bias}, "
                       f"dilation={tuple(a.dilation for a in g)!r})")


def write_pool(site: Site) -> list[str]:
    g = site.cost.axes
    k, s, p = tuple(a.kernel for a in g), tuple(a.stride for a in g), tuple(a.pad_before for a in g)
    if any(a.pad_before != a.pad_after for a in g):  # Darknet's: padded first (max pooling never picks the padding)
        pads = tuple(v for a in reversed(g) for v in (a.pad_before, a.pad_after))
        fill = ', value=float("-inf")' if site.layer.kind == "maxpool" else ""
        padded = [f"{site.out} = F.pad({site.var}, {pads!r}{fill})"]
        site, p = site._replace(var=site.out), (0,) * len(g)
    else:
        padded = []
    if site.layer.kind == "maxpool":
        return padded + site.module(f"nn.MaxPool{site.n}d({k!r}, {s!r}, {p!r}, dilation={tuple(a.dilation for a in g)!r}, "
                                    f"ceil_mode={site.layer.ceil_mode})")
    return padded + site.module(f"nn.AvgPool{site.n}d({k!r}, {s!r}, {p!r}, ceil_mode={site.layer.ceil_mode})")


def write_subsample(site: Site) -> list[str]:
    axes = site.cost.axes
    return site.helper("Subsample", f"Subsample({site.c_in}, {tuple(a.kernel for a in axes)!r}, {tuple(a.stride for a in axes)!r})")


def write_adaptive_pool(site: Site) -> list[str]:
    flavour = "Max" if "max" in site.layer.kind else "Avg"
    return site.module(f"nn.Adaptive{flavour}Pool{site.n}d({tuple(site.cost.output_shape[1:])!r})")


def write_linear(site: Site) -> list[str]:
    layer = site.layer
    if site.n:
        return site.helper("ChannelLinear", f"ChannelLinear({site.c_in}, {layer.out_features}, bias={layer.bias})")
    return site.module(f"nn.Linear({site.c_in}, {layer.out_features}, bias={layer.bias})")


def write_norm(site: Site) -> list[str]:
    layer, n, c_in = site.layer, site.n, site.c_in
    if layer.kind == "batchnorm":
        return site.module(f"nn.BatchNorm{max(n, 1)}d({c_in}, affine={layer.affine})")
    if layer.kind == "groupnorm":
        return site.module(f"nn.GroupNorm({layer.groups}, {c_in}, affine={layer.affine})")
    if layer.kind == "instancenorm":
        return site.module(f"nn.InstanceNorm{max(n, 1)}d({c_in}, affine={layer.affine})")
    if layer.shape is not None:  # layernorm over the last axes given
        return site.module(f"nn.LayerNorm({tuple(layer.shape)!r}, elementwise_affine={layer.affine})")
    if n:
        return site.helper("ChannelLayerNorm", f"ChannelLayerNorm({c_in}, elementwise_affine={layer.affine})")
    return site.module(f"nn.LayerNorm({c_in}, elementwise_affine={layer.affine})")


def write_resample(site: Site) -> list[str]:
    mode = {"nearest": "nearest", "bilinear": {1: "linear", 2: "bilinear", 3: "trilinear"}[site.n]}[site.layer.mode]
    corners = ", align_corners=False" if mode != "nearest" else ""
    size = f"{site.target[0]}.shape[2:]" if site.target is not None else repr(tuple(site.cost.output_shape[1:]))
    return [f"{site.out} = F.interpolate({site.var}, size={size}, mode={mode!r}{corners})"]


def write_pad(site: Site) -> list[str]:
    pads = tuple(v for before, after in reversed(pad_pairs(site.layer.padding, site.n)) for v in (before, after))
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}[site.layer.mode]
    return [f"{site.out} = F.pad({site.var}, {pads!r}, mode={mode!r})"]


def write_crop(site: Site) -> list[str]:
    offsets = tuple(w.offset for w in site.cost.windows)
    index = ", ".join(f"{o}:{o + size}" for o, size in zip(offsets, site.cost.output_shape[1:]))
    return [f"{site.out} = {site.var}[:, :, {index}]"]


def write_space_to_depth(site: Site) -> list[str]:
    if site.n == 2 and not site.layer.pad:
        return site.module(f"nn.PixelUnshuffle({site.layer.factor})")
    return site.helper("SpaceToDepth", f"SpaceToDepth({site.layer.factor}, {site.layer.pad})")


def write_attention(site: Site) -> list[str]:
    layer, n = site.layer, site.n
    window = per_axis(layer.window, n, "window") if layer.window is not None else None
    shift = per_axis(layer.shift, n, "shift", non_negative)
    return site.helper("SelfAttention", f"SelfAttention({site.c_in}, {layer.heads}, {layer.bias}, {window!r}, {shift!r}, {layer.grid}, "
                                        f"{layer.position_bias!r}, {layer.cosine}, {tuple(site.shape[1:])!r})")


def write_nothing(site: Site) -> list[str]:
    """A row read from a model file (opaque, subgraph) has no code of its own to write."""
    raise ConvcalcError(Note("export: no PyTorch form for a layer of kind {kind}, got layer {name}",
        kind=quote(site.layer.kind), name=site.name))


# how each layer kind is written: every kind in formulas.KINDS once (tests/test_kinds.py)
WRITERS = {
    **{kind: (lambda code: lambda site: site.module(code))(code) for kind, code in ACTIVATIONS.items()},
    "conv": write_conv, "convT": write_conv_transpose, "maxpool": write_pool, "avgpool": write_pool,
    "mean": lambda site: [f"{site.out} = {site.var}.mean({tuple(range(2, site.n + 2))!r}, keepdim=True)"],
    "subsample": write_subsample, **dict.fromkeys(("adaptive_avgpool", "global_avgpool", "adaptive_maxpool", "global_maxpool"), write_adaptive_pool),
    "linear": write_linear, "flatten": lambda site: site.module("nn.Flatten()"),
    **dict.fromkeys(("batchnorm", "layernorm", "groupnorm", "instancenorm"), write_norm),
    "lrn": lambda site: site.module(f"nn.LocalResponseNorm({site.layer.size})"),
    "scale": lambda site: site.helper("LayerScale", f"LayerScale({site.c_in}, {site.n})"),
    "channel_shuffle": lambda site: site.module(f"nn.ChannelShuffle({site.layer.groups})"),
    "upsample": write_resample, "resize": write_resample, "pad": write_pad, "crop": write_crop,
    "slice": lambda site: [f"{site.out} = {site.var}[:, {site.layer.start}:{site.layer.start + site.layer.size}]"],
    "reshape": lambda site: [f"{site.out} = {site.var}.reshape({site.var}.shape[0], *{tuple(site.layer.shape)!r})"],
    "space_to_depth": write_space_to_depth, "attention": write_attention,
    "class_token": lambda site: site.helper("ClassToken", f"ClassToken({site.c_in})"),
    "position_embedding": lambda site: site.helper("PositionEmbedding", f"PositionEmbedding({tuple(site.shape)!r})"),
    "opaque": write_nothing, "subgraph": write_nothing,
}

class Writer:
    def __init__(self, network: Network):
        self.network = network
        self.helpers: set[str] = set()
        self.classes: list[str] = []
        self.class_of: dict[tuple, str] = {}
        self.class_names: set[str] = set()
        self.class_by_body: dict[str, str] = {}  # a block written before, word for word: the same class
        self.contained: dict[int, bool] = {}
        self.references = references(network.body)

    def write(self) -> str:
        top = Scope()
        shape = self.network.input_shape
        out = self.sequence(self.network.body, "x", shape, (1,) * (len(shape) - 1), top)
        body = self.module_source("Network", top, [out[0]])
        blocks = [HELPERS[h].strip() for h in sorted(self.helpers)] + [c.strip() for c in self.classes] + [body.strip()]
        shape_text = "x".join(map(str, shape))
        docstring = f"{self.network.name}, written by convcalc (convcalc export --to torch): input {shape_text}."
        plain = docstring.isprintable() and "\\" not in docstring and '"""' not in docstring
        docstring = f'"""{docstring}"""' if plain else repr(docstring)  # a name with \\ or quotes: escaped
        return (f"{docstring}\n\n"
                "from math import prod\n\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n\n" + "\n\n\n".join(blocks) +
                f"\n\n\nINPUT_SHAPE = {tuple(shape)!r}\n\n\ndef build() -> nn.Module:\n    return Network()\n")

    def module_source(self, name: str, scope: Scope, outputs: list[str]) -> str:
        init = "\n".join(f"        {line}" for line in scope.init) or "        pass"
        forward = "\n".join(f"        {line}" for line in scope.forward)
        returned = ", ".join(outputs)
        return (f"\n\nclass {name}(nn.Module):\n    def __init__(self):\n        super().__init__()\n{init}\n\n"
                f"    def forward(self, x):\n{forward}\n        return {returned}\n")

    # --- the walk ---------------------------------------------------------------
    def sequence(self, nodes, var: str, shape: tuple, jump: tuple, scope: Scope) -> tuple[str, tuple, tuple]:
        for node in nodes:
            if isinstance(node, Repeat):
                for copy in range(node.count):
                    for unit in node.nodes:
                        var, shape, jump = self.node(unit, node.name(copy) + unit.name, var, shape, jump, scope)
            else:
                var, shape, jump = self.node(node, node.name, var, shape, jump, scope)
        return var, shape, jump

    def node(self, node, name: str, var: str, shape: tuple, jump: tuple, scope: Scope):
        if node.source is not None:
            var, shape, jump = self.lookup(node.source, scope)
        if isinstance(node, LayerNode):
            var, shape, jump = self.leaf(node, name, var, shape, jump, scope)
        elif isinstance(node, Group):
            var, shape, jump = self.group(node, name, var, shape, jump, scope)
        else:
            var, shape, jump = self.merge(node, name, var, shape, jump, scope)
        if node.id is not None:
            scope.ids[node.id] = (var, shape, jump)
        return var, shape, jump

    def lookup(self, id_: str, scope: Scope):
        if id_ == "input" and id_ not in scope.ids:
            return scope.ids.setdefault("input", ("x", self.network.input_shape, (1,) * (len(self.network.input_shape) - 1)))
        return scope.ids[id_]

    def group(self, node: Group, name: str, var: str, shape: tuple, jump: tuple, scope: Scope):
        if not self.self_contained(node):
            return self.sequence(node.children, var, shape, jump, scope)
        key = (id(node), shape)
        if key not in self.class_of:
            inner = Scope()
            out_var, out_shape, out_jump = self.sequence(node.children, "x", shape, (1,) * len(jump), inner)
            body = self.module_source("_", inner, [out_var])
            cls = self.class_by_body.get(body)
            if cls is None:
                cls = base = class_name(node.kind)
                n = 1
                while cls in self.class_names:
                    n += 1
                    cls = f"{base}{n}"
                self.class_names.add(cls)
                self.class_by_body[body] = cls
                self.classes.append(body.replace("class _(", f"class {cls}(", 1))
            self.class_of[key] = (cls, out_shape, tuple(out_jump))
        cls, out_shape, relative = self.class_of[key]
        attr = scope.attr(name, f"{cls}()")
        out = scope.var()
        scope.forward.append(f"{out} = self.{attr}({var})")
        return out, out_shape, tuple(a * b for a, b in zip(jump, relative))

    def self_contained(self, node: Group) -> bool:
        found = self.contained.get(id(node))
        if found is None:
            defined, used = set(), {}
            collect(node.children, defined, used)
            found = all(i in defined for i in used) and all(self.references.get(i, 0) == used.get(i, 0) for i in defined)
            self.contained[id(node)] = found
        return found

    def leaf(self, node: LayerNode, name: str, var: str, shape: tuple, jump: tuple, scope: Scope):
        layer = node.layer
        like = getattr(layer, "like", None)
        target = self.lookup(like, scope) if isinstance(like, str) else None
        resolved = layer._replace(size=target[1][1:], like=None) if target is not None else layer
        cost = analyze_layer(resolved, shape)
        out = scope.var()
        site = Site(self.helpers, layer, cost, name, var, out, shape, scope, target)
        scope.forward.extend(WRITERS[layer.kind](site))
        steps = tuple(w.step for w in cost.windows) if cost.windows is not None and len(cost.windows) == len(jump) else (1,) * len(jump)
        new_jump = tuple(j * s for j, s in zip(jump, steps)) if len(cost.output_shape) == len(shape) else jump
        return out, cost.output_shape, new_jump

    def merge(self, node: Merge, name: str, var: str, shape: tuple, jump: tuple, scope: Scope):
        results = []
        parts = None
        if node.split is not None:
            parts = (shape[0] // node.split,) * node.split if type(node.split) is int else tuple(node.split)
            pieces = scope.var()
            scope.forward.append(f"{pieces} = torch.split({var}, {list(parts)!r}, dim=1)")
        for index, path in enumerate(node.paths):
            start_var = f"{pieces}[{index}]" if parts is not None else var
            start = (parts[index], *shape[1:]) if parts is not None else shape
            if isinstance(path, Ref):
                results.append(self.lookup(path.id, scope))
                continue
            reshaped = bool(results) and results[0][1] != start
            if not path and reshaped and node.shortcut == "if_same":
                return results[0]
            if not path and reshaped and node.shortcut == "auto":
                strides = tuple(a // b for a, b in zip(results[0][2], jump))
                conv = scope.attr(f"{name}_shortcut_conv", f"nn.Conv{len(shape) - 1}d({shape[0]}, {results[0][1][0]}, 1, "
                                                             f"stride={strides!r}, bias=False)")
                bn = scope.attr(f"{name}_shortcut_bn", f"nn.BatchNorm{len(shape) - 1}d({results[0][1][0]})")
                out = scope.var()
                scope.forward.append(f"{out} = self.{bn}(self.{conv}({start_var}))")
                results.append((out, results[0][1], results[0][2]))
                continue
            results.append(self.sequence(path, start_var, start, jump, scope))
        out_shape = merged_shape(node, [r[1] for r in results])
        out = scope.var()
        names = [r[0] for r in results]
        if node.op in ("add", "subtract", "divide", "power") and len({len(r[1]) for r in results}) == 1:
            symbol = {"add": " + ", "subtract": " - ", "divide": " / ", "power": " ** "}[node.op]
            scope.forward.append(f"{out} = {symbol.join(names)}")
        elif node.op == "concat":
            scope.forward.append(f"{out} = torch.cat([{', '.join(names)}], dim=1)")
        else:  # a gate of C values scales C maps: viewed with the maps' spatial axes (sizes known here)
            rank = max(len(r[1]) for r in results)
            factors = [r[0] if len(r[1]) == rank else f"{r[0]}.view({r[0]}.shape[0], {r[1][0]}{', 1' * (rank - 1)})" for r in results]
            scope.forward.append(f"{out} = {' * '.join(factors)}")
        return out, out_shape, results[0][2]


def collect(nodes, defined: set, used: dict) -> None:
    """The ids a subtree defines, and how often it reads each (from:, a path that is an id, like:)."""
    for node in nodes:
        if isinstance(node, Repeat):
            for _copy in range(node.count):
                collect(node.nodes, defined, used)
            continue
        if node.id is not None:
            defined.add(node.id)
        if node.source is not None:
            used[node.source] = used.get(node.source, 0) + 1
        if isinstance(node, LayerNode):
            like = getattr(node.layer, "like", None)
            if isinstance(like, str):
                used[like] = used.get(like, 0) + 1
        elif isinstance(node, Group):
            collect(node.children, defined, used)
        else:
            for path in node.paths:
                if isinstance(path, Ref):
                    used[path.id] = used.get(path.id, 0) + 1
                else:
                    collect(path, defined, used)


def references(nodes) -> dict[str, int]:
    used: dict[str, int] = {}
    collect(nodes, set(), used)
    return used


def export_torch(network: Network) -> str:
    """The network as a self-contained PyTorch file (its source text)."""
    return Writer(network).write()

