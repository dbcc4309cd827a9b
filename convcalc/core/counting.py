"""Other tools' counting rules, so that their figures can be reproduced (`--count`).

Each rule is read from the tool's own source (fvcore 0.1.5 `jit_handles.py`, torchinfo 1.8
`layer_info.py`, calflops 0.3.2 `pytorch_ops.py`) and gives one layer's count from its row: kind,
shapes, parameters and MACs, batch included. The bundled networks are checked against each tool's
own output (tests/oracle/make_count_reference.py).

    macs          convcalc's own: multiply-adds of convolutions and matrix products, nothing else
    fvcore        MACs of conv, convT and linear (no bias); batchnorm 2 per element in eval mode
                  (1 without affine); layer/group/instance norm 5 per element (4 without affine);
                  2-D adaptive average pooling 1 per input element; 2-D upsampling 1 (nearest) or
                  4 (bilinear) per output element; everything else 0
    fvcore-train  the same with batchnorm at its training rate, 5 per element (4 without affine)
    torchinfo     each module's weight and bias count times the batch, and for a convolution also
                  times the output positions: conv/convT params·N·∏L_out, linear and norms params·N
                  (a linear applied per position counts once, not per position); no parameters: 0
    thop          ultralytics-thop's hooks on torch.nn modules (Ultralytics prints twice its total as GFLOPs):
                  conv, convT and linear MACs (no bias); batch/instance/layer/group norm 2 per input element,
                  4 with affine; nn.Softmax 3n − 1 per vector of n; average pooling every input its windows
                  cover (padding counted) + 1 per output, adaptive average pooling the windows it slices + 1
                  per output; nn.Upsample bilinear 11 (linear 5, trilinear 31) per output element, nearest 0;
                  nn.MultiheadAttention 4·T·E² + 2·T²·E + the softmax; matrix products written as functions
                  (matmul, bmm, F.linear) their multiply-adds; everything else 0 — activations, max
                  pooling, merges, F.interpolate; a region of a PyTorch model read whole (`subgraph`)
                  counts its convolutions, products and norms as above, as the reader saw them run
    ptflops       ptflops 0.7.5's default backend: forward hooks on torch.nn modules and patched functions, so a
                  module whose forward calls a patched function counts twice: conv and convT MACs + 1 per output
                  element for a bias; linear (in·out + out)·positions; nn.ReLU, ELU and GELU 2 per output element,
                  ReLU6 and LeakyReLU 1, SiLU and Softmax 1 (their functions); every pooling 2 per input element;
                  batch, instance and group norm 1 per element (2 with affine), nn.LayerNorm 1 (its flag is not
                  named `affine`); nn.Upsample 2 per output element, F.interpolate 1; nn.MultiheadAttention its
                  hook's formula; Swin's windows their two products and softmax (its projections are F.linear, not
                  patched); a region read whole (`subgraph`) with weights what thop counts of it, without 0;
                  everything else 0 — merges, sigmoid, hardswish, `@` and einsum products
    mul-add       multiplications and additions apart, as a course counts a layer's arithmetic: a convolution's or
                  linear layer's output element is C_i/g·∏K products (in products) summed with C_i/g·∏K − 1
                  additions, + 1 for the bias; a transposed convolution's products are added where they land (MACs
                  less the outputs that receive one, + the bias); LeNet's subsampling ∏K − 1 additions, 1 product
                  and 1 bias addition per output; attention its projections (as linear layers), its scores (heads·T·N
                  dot products of E/heads) and its weighted sums (T·E sums of N); a region read whole (`subgraph`)
                  its MACs as multiplications, its additions unknown (0). The total is the two together; JSON and
                  the footer give each
    course-pool   convcalc's MACs, and pooling as a course counts it: max pooling K − 1 comparisons per output
                  element (K the window's elements), average pooling K − 1 additions and 1 division; adaptive and
                  global pooling the same with each window's own size
    darknet       the BFLOPs Darknet prints (×10⁹): 2 per multiply-add of a convolution (no bias, no batchnorm);
                  max and local average pooling K²·C per output position; a shortcut (add) 1 per output
                  element and added layer; everything else 0 — connected layers too, as Darknet states them
    calflops      FLOPs: 2·MACs of conv and linear, + 1 per output element for a convolution's bias
                  (a transposed one: per element of the size a plain convolution would give), 1 per
                  input element for relu, leaky_relu, elu, silu, gelu, softmax and every pooling,
                  batchnorm as fvcore in eval mode, the other norms 5 (4) per element; resampling
                  by a factor 1 per input element, to a size ∏size; lrn as local_response_norm
                  computes it (3 per element + its channel-window average); merges written as Python
                  operators (+, *) 0, as are relu6 (hardtanh), sigmoid, tanh, hardswish, mish

Attention, as torchvision's code runs it at inference (checked against the tools on ViT-B/16, Swin-T/S,
Swin V2-T and MaxViT-T, read from PyTorch): global attention (nn.MultiheadAttention) takes PyTorch's
fused fast path, which none of the three sees — 0, except fvcore in train mode, which counts its four
projections (4·T·E²; not the attention product, scaled_dot_product_attention having no handler).
Windowed attention (Swin's, MaxViT's) is linear layers and explicit products: fvcore counts all its
MACs; calflops 2·MACs + one per softmax score (heads·T_p·N), less the cosine attention's scores
(written with `@`, which it does not patch: 2·T_p·N·E), plus Swin V2's bias-MLP ReLU; torchinfo
counts none of it (its projections are never called as modules) but Swin V2's bias MLP, which is.
ptflops counts nn.MultiheadAttention by its own hook, whichever path it takes. MaxViT differs from these rules twice: torchinfo counts its projections (4·E² + 4·E, called as
modules), and fvcore and calflops count its einsums by NumPy's estimate, rounded to 4 digits (ptflops: its projections,
as modules, and not its einsums). Swin
V2's bias MLP runs once per forward pass; convcalc, and these rules, count it per sample. A region
of an ONNX file read as a whole (`subgraph`) counts as its matrix products, as a linear layer does.

What a description cannot always know is how the code spells an operation: a global average written as
`x.mean((2, 3))` is not counted by fvcore or calflops where `adaptive_avg_pool2d` is (the model readers
say which it was: a `mean` row; a description may write `mean` too — though PyTorch computes
F.adaptive_avg_pool2d(x, 1) as a mean, which the running reader then reads as one),
torch.add() is counted by calflops where `+` is not, and thop counts nn.AdaptiveAvgPool2d but not
F.adaptive_avg_pool2d (MobileNetV2's and DenseNet's last pooling); ptflops counts those and DenseNet's last
F.relu once rather than twice, and torchvision's LayerNorm2d (a subclass of nn.LayerNorm, which its hooks match by
exact type) not at all: ConvNeXt's stem and downsampling norms. The rules follow the torch.nn modules and
torchvision's code. LeNet's subsampling, not a PyTorch operation, counts as its MACs (× 2 in
calflops). ConvNeXt's layer scale is a parameter of its block, not a module: 0 in torchinfo.
"""

from __future__ import annotations

from math import prod

from .formulas import BIAS_MLP_WIDTH
from .messages import N_

RULES = {  # name: what the figure is, for the footer
    "macs": N_("multiply-adds of convolutions and linear layers"),
    "fvcore": N_("fvcore's FlopCountAnalysis, model in eval mode"),
    "fvcore-train": N_("fvcore's FlopCountAnalysis, model in train mode"),
    "torchinfo": N_("torchinfo's Total mult-adds"),
    "calflops": N_("calflops' FLOPs"),
    "darknet": N_("Darknet's BFLOPs, as its printout states them"),
    "thop": N_("thop's profile (ultralytics-thop, whose count Ultralytics prints × 2 as GFLOPs)"),
    "ptflops": N_("ptflops' get_model_complexity_info (its default PyTorch backend)"),
    "mul-add": N_("multiplications and additions counted apart, as a course counts them"),
    "course-pool": N_("MACs, and pooling's comparisons, additions and divisions, as a course counts them"),
}

NORMS = ("layernorm", "groupnorm", "instancenorm")
POOLS = ("maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool", "global_maxpool")
CALFLOPS_ACTIVATIONS = ("relu", "leaky_relu", "elu", "silu", "swish", "gelu", "softmax")


def affine_of(layer) -> bool:
    return bool(getattr(layer, "affine", False))


def projections(row, batch: int) -> int:
    """Global attention's four projections, 4·T·E² MACs: what F.linear is called for."""
    return 4 * prod(row.input_shape[1:]) * row.input_shape[0] ** 2 * batch


def softmax_elements(row, batch: int) -> int:
    """The scores windowed attention's softmax reads: heads·T_p·N per sample."""
    windows = row.cost.axes[0]
    return batch * row.layer.heads * windows.tokens * windows.per_window


def fvcore(row, batch: int, train: bool = False) -> int:
    kind, layer = row.kind, row.layer
    if kind in ("conv", "convT", "linear", "subsample", "subgraph"):
        return row.macs
    if kind == "attention":  # windows: linear, matmul and einsum all counted; global: the fused fast path at inference is not
        return row.macs if row.layer.window is not None else projections(row, batch) if train else 0
    inputs = batch * prod(row.input_shape)
    if kind == "batchnorm":
        if train:
            return inputs * (5 if affine_of(layer) else 4)
        return inputs * (2 if affine_of(layer) else 1)
    if kind in NORMS:
        return inputs * (5 if affine_of(layer) else 4)
    spatial = len(row.input_shape) - 1
    if kind in ("adaptive_avgpool", "global_avgpool") and spatial == 2:
        return inputs
    if kind in ("upsample", "resize") and spatial == 2:
        return batch * prod(row.output_shape) * (4 if layer.mode == "bilinear" else 1)
    return 0


def torchinfo(row, batch: int) -> int:
    if row.kind in ("conv", "convT"):
        return row.params * batch * prod(row.output_shape[1:])
    if row.kind in ("scale", "class_token", "position_embedding"):
        return 0
    if row.kind == "attention":  # a module with children (nn.MultiheadAttention, Swin's): only its called leaves count
        layer = row.layer
        axes, width = len(row.input_shape) - 1, BIAS_MLP_WIDTH  # Swin V2's bias MLP: two Linear modules called
        return (axes * width + width + width * layer.heads) * batch if layer.position_bias == "mlp" else 0
    return row.params * batch


def calflops(row, batch: int) -> int:
    kind, layer = row.kind, row.layer
    inputs = batch * prod(row.input_shape)
    if kind == "conv":
        return 2 * row.macs + (batch * prod(row.output_shape) if layer.bias else 0)
    if kind == "convT":
        return 2 * row.macs + (batch * layer.out_channels * prod(plain_conv_sizes(layer, row.input_shape[1:])) if layer.bias else 0)
    if kind in ("linear", "subsample", "subgraph"):
        return 2 * row.macs
    if kind == "attention":  # global: the fused fast path at inference, not patched; windows: linear, matmul, einsum, softmax
        if row.layer.window is None:
            return 0
        products = softmax_elements(row, batch) * row.input_shape[0] // row.layer.heads  # T_p·N·E: one of the two
        relu = batch * row.cost.axes[0].offsets * BIAS_MLP_WIDTH
        return (2 * row.macs + softmax_elements(row, batch) - (2 * products if row.layer.cosine else 0)  # V2's scores: `@`, not patched
                + (relu if row.layer.position_bias == "mlp" else 0))
    if kind in CALFLOPS_ACTIVATIONS or kind in POOLS:
        return inputs
    if kind == "batchnorm":
        return inputs * (2 if affine_of(layer) else 1)
    if kind in NORMS:
        return inputs * (5 if affine_of(layer) else 4)
    if kind == "lrn":  # F.local_response_norm: x·x, ·alpha, +k, and an average over the padded channel window
        channels, spatial = row.input_shape[0], row.input_shape[1:]
        return 3 * inputs + batch * (channels + layer.size - 1) * prod(spatial)
    if kind == "upsample" or kind == "resize" and layer.factor is not None:
        return inputs
    if kind == "resize":  # F.interpolate(x, size=…): calflops counts ∏size, whatever the batch and channels
        return prod(row.output_shape[1:])
    return 0


UPSAMPLE_OPS = {1: 5, 2: 11, 3: 31}  # thop's count per output element of linear, bilinear and trilinear upsampling


def thop(row, batch: int) -> int:
    """ultralytics-thop 2.2.3's module hooks (vision/basic_hooks.py), by what each row's module would be."""
    kind, layer = row.kind, row.layer
    if kind in ("conv", "convT", "linear"):
        return row.macs  # output (input, for a transposed one) positions × C_in/g × ∏K, no bias; linear in_features × outputs
    inputs = batch * prod(row.input_shape)
    if kind in ("batchnorm", "instancenorm", "layernorm", "groupnorm"):
        return 2 * inputs * (2 if affine_of(layer) else 1)
    if kind == "softmax":  # nn.Softmax over the channels: n exponentials, n − 1 additions, n divisions per vector
        n = row.input_shape[0]
        return inputs // n * (3 * n - 1)
    if kind == "avgpool" and not layer.functional:  # every input a window covers (padding included, as PyTorch's count_include_pad), + 1 per output
        windows = 1
        for g in row.cost.axes:
            low, high = -g.pad_before, g.size + g.pad_before
            windows *= sum(max(min(i * g.stride - g.pad_before + g.kernel, high) - max(i * g.stride - g.pad_before, low), 0)
                           for i in range(g.out))
        return batch * row.input_shape[0] * windows + batch * prod(row.output_shape)
    if kind in ("adaptive_avgpool", "global_avgpool"):  # the windows adaptive pooling slices, + 1 per output
        windows = 1
        for i, o in zip(row.input_shape[1:], row.output_shape[1:]):
            windows *= i if i == o else sum(-(-(j + 1) * i // o) - j * i // o for j in range(o))
        return batch * row.input_shape[0] * windows + batch * prod(row.output_shape)
    if kind == "upsample" and layer.mode == "bilinear":  # nn.Upsample; F.interpolate (resize) is no module: 0
        return UPSAMPLE_OPS[len(row.input_shape) - 1] * batch * prod(row.output_shape)
    if kind == "subgraph":  # a region read whole: the modules inside it, as its reader counted them
        return layer.thop * batch
    if kind == "attention" and layer.window is None:  # nn.MultiheadAttention: projections, both products, the softmax
        embed, tokens = row.input_shape[0], prod(row.input_shape[1:])
        return batch * (4 * tokens * embed ** 2 + 2 * tokens ** 2 * embed) + batch * layer.heads * tokens * (3 * tokens - 1)
    return 0


PTFLOPS_TWICE = ("relu", "elu", "gelu", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "global_avgpool",
                 "global_maxpool")  # modules whose hook counts and whose forward calls a patched function that counts again


def ptflops(row, batch: int) -> int:
    """ptflops 0.7.5's default backend (pytorch_ops.py): forward hooks on torch.nn modules, plus patched
    torch.nn.functional calls and tensor methods, so a module whose forward calls a patched function counts twice."""
    kind, layer = row.kind, row.layer
    inputs, outputs = batch * prod(row.input_shape), batch * prod(row.output_shape)
    if kind in ("conv", "convT"):  # ∏K·C_in·C_out/g per output (input, transposed) position, + 1 per output for the bias
        return row.macs + (outputs if layer.bias else 0)
    if kind == "linear":  # (in·out + out)·∏leading
        return row.macs + (outputs if layer.bias else 0)
    if kind in PTFLOPS_TWICE:  # the module's hook and the patched F.relu, F.max_pool2d, … it calls: 2 per input element
        return 2 * inputs
    if kind in ("relu6", "leaky_relu"):  # hooked; their forwards call hardtanh and leaky_relu, not patched
        return inputs
    if kind in ("silu", "swish", "softmax"):  # not hooked, but F.silu and F.softmax are patched
        return inputs
    if kind in ("batchnorm", "instancenorm", "groupnorm"):
        return inputs * (2 if affine_of(layer) else 1)
    if kind == "layernorm":  # nn.LayerNorm's flag is elementwise_affine: the hook's `affine` test never holds
        return inputs
    if kind == "upsample":  # the hook: output elements of the first sample; F.interpolate: output elements
        return prod(row.output_shape) + outputs
    if kind == "resize":
        return outputs
    if kind == "subgraph":  # a region with weights: its modules as thop counts them (a detection head's DFL convolution);
        return layer.thop * batch if row.params else 0  # without: products written `@` or einsum, softmax as a method: 0
    if kind == "attention":
        return ptflops_attention(row, batch)
    return 0


def ptflops_attention(row, batch: int) -> int:
    """Global: nn.MultiheadAttention's hook (the query's scaling, projections with their biases, both products and the
    softmax per head). Windows, as torchvision's Swin writes them: its projections are F.linear calls (not patched, 0),
    its products q.matmul(k.T) and attn.matmul(v) (patched; Swin V2's cosine scores are an `@`, not patched), its
    softmax F.softmax; Swin V2's bias MLP is two nn.Linear modules and an nn.ReLU (counted twice)."""
    layer, embed = row.layer, row.input_shape[0]
    if layer.window is None:
        tokens, head = prod(row.input_shape[1:]), embed // layer.heads
        projections = 3 * tokens * embed * embed + (3 * tokens * embed if layer.bias else 0) + tokens * embed * (embed + 1)
        heads = layer.heads * (2 * tokens * tokens * head + tokens * tokens)
        return batch * (tokens * embed + projections + heads)
    windows = row.cost.axes[0]
    scores = batch * layer.heads * windows.tokens * windows.per_window  # heads·T_p·N
    products = scores * embed // layer.heads  # T_p·N·E, each of the two products
    mlp = windows.offsets * (2 * BIAS_MLP_WIDTH + BIAS_MLP_WIDTH + 2 * BIAS_MLP_WIDTH + BIAS_MLP_WIDTH * layer.heads)
    return (products if layer.cosine else 2 * products) + scores + (batch * mlp if layer.position_bias == "mlp" else 0)



def mul_add(row, batch: int) -> tuple[int, int]:
    """(multiplications, additions) of one row, the batch included (the `mul-add` rule)."""
    kind, layer, macs = row.kind, row.layer, row.macs
    outputs = batch * prod(row.output_shape)
    if kind == "conv" or kind == "linear":
        return macs, macs - outputs + (outputs if layer.bias else 0)
    if kind == "convT":  # every product is added into the output element it lands on
        covered = row.output_shape[0] * prod(landing(g) for g in row.cost.axes) * batch
        return macs, macs - covered + (outputs if layer.bias else 0)
    if kind == "subsample":
        window = prod(g.kernel for g in row.cost.axes)
        return outputs, outputs * (window - 1) + outputs
    if kind == "attention":
        return macs, attention_additions(row, batch)
    return macs, 0


def landing(axis) -> int:
    """Output positions of a transposed convolution's axis that receive at least one product: i·S − P + k·D."""
    reached = {i * axis.stride - axis.padding + k * axis.dilation for i in range(axis.size) for k in range(axis.kernel)}
    return sum(1 for j in reached if 0 <= j < axis.out)


def attention_additions(row, batch: int) -> int:
    """Projections (4 linear layers over T_p positions), scores (heads·T_p·N dot products of E/heads values), weighted
    sums (T_p·E sums of N), and Swin V2's bias MLP (two linear layers over the offsets)."""
    layer, embed = row.layer, row.input_shape[0]
    if layer.window is None:
        tokens = per_window = prod(row.input_shape[1:])
        offsets = 0
    else:
        windows = row.cost.axes[0]
        tokens, per_window, offsets = windows.tokens, windows.per_window, windows.offsets
    projections = 4 * tokens * embed * embed - 4 * tokens * embed + (4 * tokens * embed if layer.bias else 0)
    scores = tokens * per_window * embed - layer.heads * tokens * per_window
    weighted = tokens * per_window * embed - tokens * embed
    mlp = 0
    if layer.position_bias == "mlp":
        axes = len(row.input_shape) - 1
        mlp = offsets * BIAS_MLP_WIDTH * (axes - 1) + offsets * BIAS_MLP_WIDTH + offsets * layer.heads * (BIAS_MLP_WIDTH - 1)
    return batch * (projections + scores + weighted + mlp)


def pooling_operations(row, batch: int) -> int:
    """A course's count of pooling: K − 1 comparisons (max) or K − 1 additions and 1 division (average) per output
    element, K the elements of its window (adaptive pooling: each window's own)."""
    kind = row.kind
    if kind in ("maxpool", "avgpool"):
        windows = prod(g.kernel for g in row.cost.axes) * prod(row.output_shape[1:])
    elif kind in ("adaptive_avgpool", "adaptive_maxpool", "global_avgpool", "global_maxpool", "mean"):
        windows = 1
        for size, out in zip(row.input_shape[1:], row.output_shape[1:]):
            windows *= sum(-(-(j + 1) * size // out) - j * size // out for j in range(out))
    else:
        return 0
    outputs = prod(row.output_shape)
    channels = row.output_shape[0]
    per_channel = windows - prod(row.output_shape[1:])  # K − 1 per output element
    average = kind in ("avgpool", "adaptive_avgpool", "global_avgpool", "mean")
    return batch * (channels * per_channel + (outputs if average else 0))


def course_counts(row, batch: int) -> dict:
    """A course's counts of one layer (`layer`'s JSON and table): multiplications and additions apart, and pooling's
    comparisons (max) or additions and divisions (average)."""
    multiplications, additions = mul_add(row, batch)
    pooled = pooling_operations(row, batch)
    outputs = batch * prod(row.output_shape)
    average = row.kind in ("avgpool", "adaptive_avgpool", "global_avgpool", "mean")
    return {"multiplications": multiplications, "additions": additions + (pooled - outputs if average else 0),
            "comparisons": pooled if not average else 0, "divisions": outputs if pooled and average else 0}


def course_pool(row, batch: int) -> int:
    return pooling_operations(row, batch) if row.kind in POOLS or row.kind == "mean" else row.macs


def darknet(row, batch: int) -> int:
    """Darknet's l.bflops (convolutional_layer.c, maxpool_layer.c, shortcut_layer.c), × 10⁹."""
    if row.kind == "conv":
        return 2 * row.macs
    if row.kind in ("maxpool", "avgpool"):
        return batch * prod(g.kernel for g in row.cost.axes) * prod(row.output_shape)
    if row.kind == "add":
        return batch * prod(row.output_shape) * (len(row.parts) - 1)
    return 0


def plain_conv_sizes(layer, spatial) -> list[int]:
    """calflops sizes a transposed convolution's bias term with the plain convolution formula."""
    n = len(spatial)

    def axis(value):
        return value if isinstance(value, tuple) else (value,) * n

    k, s, p, d = axis(layer.kernel), axis(layer.stride), axis(layer.padding), axis(layer.dilation)
    return [(m + 2 * p[i] - (d[i] * (k[i] - 1) + 1)) // s[i] + 1 for i, m in enumerate(spatial)]


def count(rule: str, row, batch: int) -> int:
    """One leaf row's count under `rule` (a name in RULES); the batch is included."""
    if rule == "macs":
        return row.macs
    if rule == "fvcore":
        return fvcore(row, batch)
    if rule == "fvcore-train":
        return fvcore(row, batch, train=True)
    if rule == "torchinfo":
        return torchinfo(row, batch)
    if rule == "thop":
        return thop(row, batch)
    if rule == "darknet":
        return darknet(row, batch)
    if rule == "ptflops":
        return ptflops(row, batch)
    if rule == "mul-add":
        return sum(mul_add(row, batch))
    if rule == "course-pool":
        return course_pool(row, batch)
    return calflops(row, batch)


class Counted:
    """A sink (network.Sink's interface) that totals the leaves' counts, worked out by a walk whose settings
    name the same rule (Settings.count)."""

    def __init__(self, rule: str, batch: int):
        self.rule, self.batch, self.total = rule, batch, 0
        self.multiplications = self.additions = 0  # the mul-add rule's two parts

    def open(self, depth: int):
        return None

    def close(self, token, row) -> None:
        pass

    def leaf(self, row) -> None:
        self.total += row.counted  # the walk's, under the settings' rule
        if self.rule == "mul-add":  # its two parts apart, for the footer
            multiplications, additions = mul_add(row, self.batch)
            self.multiplications += multiplications
            self.additions += additions
