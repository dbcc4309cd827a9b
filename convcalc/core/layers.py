"""The layer kinds: immutable, typed records. Pure data: the arithmetic is in formulas.py.

They are typing.NamedTuples rather than frozen dataclasses for one reason: a command must start
in about a tenth of a second, and a dataclass costs ~1 ms to create at import against ~0.1 ms.

A size given as one int applies to every spatial axis; a tuple gives one value per axis.
`keys` maps the option names a user writes (in a description, or as flags) to the fields, so that
an error can name the option the way the user typed it.
"""

from __future__ import annotations

from typing import NamedTuple

IntOrTuple = int | tuple[int, ...]
Padding = int | tuple[int | tuple[int, int], ...] | str  # per axis: a number, or (before, after); or a preset


class Conv(NamedTuple):
    """N-d convolution (cross-correlation), as torch.nn.Conv1d/2d/3d.

    `table`, when given, is a partial connection table (LeNet-5's C3): output map o reads only
    the input maps listed in table[o]. `padding` per axis is a number (both sides) or a pair
    (before, after); `p_total` is d2l's total padding p_h (rows added top and bottom together; an
    odd total puts the extra row at the end, as TensorFlow does).

    >>> from convcalc import Conv, single_layer
    >>> single_layer(Conv(out_channels=16, kernel=3, padding=1), (3, 32, 32)).params  # 16·(3·3·3 + 1)
    448
    """

    out_channels: int
    kernel: IntOrTuple
    stride: IntOrTuple = 1
    padding: Padding = 0
    dilation: IntOrTuple = 1
    groups: int = 1
    bias: bool = True
    table: tuple[tuple[int, ...], ...] | None = None
    kind: str = "conv"
    p_total: IntOrTuple | None = None
    keys = {"c": "out_channels", "k": "kernel", "s": "stride", "p": "padding", "d": "dilation",
            "groups": "groups", "bias": "bias", "table": "table", "p_total": "p_total"}


class ConvTranspose(NamedTuple):
    """N-d transposed convolution, as torch.nn.ConvTranspose1d/2d/3d.

    >>> from convcalc import ConvTranspose, single_layer
    >>> single_layer(ConvTranspose(8, 4, stride=2, padding=1), (16, 16, 16)).output_shape  # (16 − 1)·2 − 2 + 3 + 1
    (8, 32, 32)
    """

    out_channels: int
    kernel: IntOrTuple
    stride: IntOrTuple = 1
    padding: IntOrTuple = 0
    output_padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    groups: int = 1
    bias: bool = True
    kind: str = "convT"
    keys = {"c": "out_channels", "k": "kernel", "s": "stride", "p": "padding", "output_padding": "output_padding",
            "d": "dilation", "groups": "groups", "bias": "bias"}


class Pool(NamedTuple):
    """Max or average pooling (`kind` maxpool or avgpool); the stride defaults to the kernel.

    >>> from convcalc import Pool, single_layer
    >>> single_layer(Pool(2), (3, 32, 32)).output_shape
    (3, 16, 16)
    """

    kernel: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    ceil_mode: bool = False
    kind: str = "maxpool"
    functional: bool = False  # written as F.avg_pool2d rather than a module: thop, which hooks modules, skips it
    keys = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "ceil": "ceil_mode"}


class Subsample(NamedTuple):
    """LeNet-5's trainable subsampling (S2, S4): each map sums a window, multiplies it by one
    learned coefficient and adds one learned bias.

    >>> from convcalc import Subsample, single_layer
    >>> single_layer(Subsample(2), (6, 28, 28)).params  # LeNet-5's S2: a weight and a bias per map
    12
    """

    kernel: IntOrTuple
    stride: IntOrTuple | None = None
    kind: str = "subsample"
    keys = {"k": "kernel", "s": "stride"}


class AdaptivePool(NamedTuple):
    """Adaptive pooling to a fixed output size (`kind` adaptive_avgpool, adaptive_maxpool);
    global_avgpool and global_maxpool pool to 1; mean is global_avgpool written as x.mean((2, 3)), which
    other tools count apart (`--count`).

    >>> from convcalc import AdaptivePool, single_layer
    >>> single_layer(AdaptivePool(7), (512, 14, 14)).output_shape
    (512, 7, 7)
    """

    output_size: IntOrTuple = 1
    kind: str = "adaptive_avgpool"
    keys = {"out": "output_size"}


class Linear(NamedTuple):
    """Fully connected layer. On an input with spatial axes it acts on the channel axis at each
    position (what nn.Linear does in a channels-last block such as ConvNeXt's).

    >>> from convcalc import Linear, single_layer
    >>> single_layer(Linear(10), (84,)).params  # 84·10 + 10
    850
    """

    out_features: int
    bias: bool = True
    kind: str = "linear"
    keys = {"out": "out_features", "bias": "bias"}


class Flatten(NamedTuple):
    """Flattens C×H×W into one feature axis.

    >>> from convcalc import Flatten, single_layer
    >>> single_layer(Flatten(), (16, 5, 5)).output_shape
    (400,)
    """

    kind: str = "flatten"
    keys = {}  # no options


class Norm(NamedTuple):
    """batchnorm (per channel, with running statistics), layernorm (over the channels at each
    position, as ConvNeXt's LayerNorm2d; or over the last axes given by `shape`, as
    nn.LayerNorm([64, 8, 8])), groupnorm (`groups` groups of channels).

    >>> from convcalc import Norm, single_layer
    >>> r = single_layer(Norm(), (64, 56, 56))  # batchnorm: γ and β learned, the running mean and variance kept
    >>> r.params, r.buffers
    (128, 129)
    """

    affine: bool = True
    groups: int = 1
    kind: str = "batchnorm"
    shape: tuple[int, ...] | None = None  # layernorm's normalized_shape: the input's last axes
    keys = {"affine": "affine", "groups": "groups", "shape": "shape"}


class InstanceNorm(NamedTuple):
    """Instance normalisation (per sample and channel), as nn.InstanceNorm1d/2d/3d: by default
    nothing learned and no running statistics, as in PyTorch.

    >>> from convcalc import InstanceNorm, single_layer
    >>> single_layer(InstanceNorm(), (64, 56, 56)).params  # without affine, as PyTorch's default
    0
    """

    affine: bool = False
    kind: str = "instancenorm"
    keys = {"affine": "affine"}


class LRN(NamedTuple):
    """Local response normalisation across `size` neighbouring channels (AlexNet, VGG A-LRN).

    >>> from convcalc import LRN, single_layer
    >>> single_layer(LRN(5), (96, 55, 55)).output_shape
    (96, 55, 55)
    """

    size: int = 5
    kind: str = "lrn"
    keys = {"size": "size"}


class Elementwise(NamedTuple):
    """Activations, dropout, identity (`kind` names which): same shape, nothing learned, no
    multiply-adds.

    >>> from convcalc import Elementwise, single_layer
    >>> single_layer(Elementwise("relu"), (64, 112, 112)).macs
    0
    """

    kind: str = "relu"
    keys = {}  # no options


class Upsample(NamedTuple):
    """Upsampling by an integer factor per axis, nearest or bilinear.

    >>> from convcalc import Upsample, single_layer
    >>> single_layer(Upsample(2), (256, 20, 20)).output_shape
    (256, 40, 40)
    """

    scale: IntOrTuple = 2
    mode: str = "nearest"
    kind: str = "upsample"
    keys = {"scale": "scale", "mode": "mode"}


class ChannelShuffle(NamedTuple):
    """ShuffleNet's channel shuffle: C channels as `groups` groups, read group by group across.
    Moves data, costs nothing, changes no shape."""

    groups: int
    kind: str = "channel_shuffle"
    keys = {"groups": "groups"}


class Pad(NamedTuple):
    """Padding on its own (nn.ZeroPad2d, ReflectionPad2d, ReplicationPad2d; the notes' 镜像填充):
    per axis a number (both sides) or a pair (before, after)."""

    padding: Padding
    mode: str = "zeros"  # zeros, reflect, replicate
    kind: str = "pad"
    keys = {"p": "padding", "mode": "mode"}


class Crop(NamedTuple):
    """A window of the input: `size` per axis, centred as torchvision's center_crop places it, or at
    `offset`; `like` takes the size of an earlier output (its id) — the paper's U-Net crops each
    skip connection to the decoder's size."""

    size: IntOrTuple | None = None
    offset: IntOrTuple | None = None
    like: str | None = None
    kind: str = "crop"
    keys = {"size": "size", "offset": "offset", "like": "like"}


class Resize(NamedTuple):
    """Resampling (F.interpolate) to `size`, by `factor` (out = ⌊M·factor⌋), or to the size of an
    earlier output (`like`: FCN back to the input's size, DeepLabV3's pooled branch)."""

    size: IntOrTuple | None = None
    factor: int | float | None = None
    like: str | None = None
    mode: str = "nearest"
    kind: str = "resize"
    keys = {"size": "size", "factor": "factor", "like": "like", "mode": "mode"}


class Scale(NamedTuple):
    """A learned per-channel multiplier (ConvNeXt's layer scale).

    >>> from convcalc import Scale, single_layer
    >>> single_layer(Scale(), (96, 56, 56)).params  # one per channel
    96
    """

    kind: str = "scale"
    keys = {}  # no options


class Attention(NamedTuple):
    """Multi-head self-attention over the positions (tokens) of its input, as nn.MultiheadAttention
    with query = key = value: every position attends to every position — or, with `window`, only to
    the positions of its own window: Swin's windows (the input padded at the end to a multiple of the
    window; `shift` is Swin's cyclic shift, which moves the windows and costs nothing), or MaxViT's
    grid (`grid`: a window's positions spaced M/w apart across the axis). `position_bias` adds a
    learned bias per head and pair of positions in a window: `table` (Swin, MaxViT: one value per
    relative offset), `mlp` (Swin V2: computed from the offsets by a 2-layer MLP, 512 wide);
    `cosine` is Swin V2's cosine attention with a learned scale per head."""

    heads: int
    bias: bool = True
    window: IntOrTuple | None = None
    shift: IntOrTuple = 0
    grid: bool = False
    position_bias: str = "none"
    cosine: bool = False
    kind: str = "attention"
    keys = {"heads": "heads", "bias": "bias", "window": "window", "shift": "shift", "grid": "grid",
            "position_bias": "position_bias", "cosine": "cosine"}


class ClassToken(NamedTuple):
    """A learned token put before the first position (ViT's class token): one more position."""

    kind: str = "class_token"
    keys = {}  # no options


class PositionEmbedding(NamedTuple):
    """A learned embedding added at every position (ViT's position embedding): C·L parameters."""

    kind: str = "position_embedding"
    keys = {}  # no options


class SpaceToDepth(NamedTuple):
    """Each `factor`×`factor` block of positions folded into the channels: C×H×W → C·r²×H/r×W/r, as
    nn.PixelUnshuffle and ONNX's SpaceToDepth (which refuse a size r does not divide), or Swin's patch
    merging (`pad`: an odd size padded with zeros at the end first). Moves data, costs nothing."""

    factor: int = 2
    pad: bool = False
    kind: str = "space_to_depth"
    keys = {"factor": "factor", "pad": "pad"}


class Slice(NamedTuple):
    """Channels `start` to `start + size` − 1 of the input (x[:, start:start + size], one part of a
    torch.split or chunk): a view, no cost, each output reads one position."""

    start: int
    size: int
    kind: str = "slice"
    keys = {"start": "start", "size": "size"}


class Reshape(NamedTuple):
    """Data moved without arithmetic (a view, reshape, permutation or channel shuffle read from a
    traced model) to `shape`: the positions kept, or flattened into features."""

    shape: tuple[int, ...]
    kind: str = "reshape"
    keys = {"shape": "shape"}


class Opaque(NamedTuple):
    """An operation convcalc has no formula for, read from a traced model: its output shape and
    parameters as the model gives them. Its MACs are unknown — never counted as 0 silently: the
    row and the totals say so — and the receptive field past it is a bound."""

    op: str
    shape: tuple[int, ...]
    params: int = 0
    buffers: int = 0
    kind: str = "opaque"
    keys = {"op": "op", "shape": "shape", "params": "params", "buffers": "buffers"}


class Subgraph(NamedTuple):
    """A part of a model file read as a whole (attention in an ONNX graph: reshapes, transposes and
    matrix products between activations): its output shape, parameters, buffers and MACs — the
    matrix products inside it — as the file gives them; the receptive field past it taken whole.
    `thop`: what thop counts of the torch.nn modules inside it, where a PyTorch model says (`--count thop`)."""

    op: str
    shape: tuple[int, ...]
    params: int = 0
    buffers: int = 0
    macs: int = 0
    thop: int = 0
    kind: str = "subgraph"
    keys = {"op": "op", "shape": "shape", "params": "params", "buffers": "buffers", "macs": "macs", "thop": "thop"}


Layer = (Conv | ConvTranspose | Pool | Subsample | AdaptivePool | Linear | Flatten | Norm | InstanceNorm | LRN | Elementwise | Upsample
         | Scale | ChannelShuffle | Pad | Crop | Resize | Slice | Reshape | Opaque | Attention | ClassToken | PositionEmbedding
         | SpaceToDepth | Subgraph)
