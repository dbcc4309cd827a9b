"""The layer kinds, as frozen dataclasses. Pure data: the arithmetic is in formulas.py.

A size given as one int applies to every spatial axis; a tuple gives one value per axis.
`metadata["key"]` is the name a user writes (in a description or as a flag), so that an error
can name the option the way the user typed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IntOrTuple = int | tuple[int, ...]
Padding = int | tuple[int, ...] | str  # a number per axis, or 'valid' / 'same' / 'full'


def key(name: str, default=None, **kw):
    """A field with the user-facing option name `name`."""
    if default is None and "default_factory" not in kw:
        return field(metadata={"key": name}, **kw)
    return field(default=default, metadata={"key": name}, **kw)


@dataclass(frozen=True, slots=True)
class Conv:
    """N-d convolution (cross-correlation), as torch.nn.Conv1d/2d/3d.

    `table`, when given, is a partial connection table (LeNet-5's C3): output map o reads only
    the input maps listed in table[o].
    """

    out_channels: int = key("c")
    kernel: IntOrTuple = key("k")
    stride: IntOrTuple = key("s", 1)
    padding: Padding = key("p", 0)
    dilation: IntOrTuple = key("d", 1)
    groups: int = key("groups", 1)
    bias: bool = key("bias", True)
    table: tuple[tuple[int, ...], ...] | None = field(default=None, metadata={"key": "table", "optional": True})
    kind: str = "conv"


@dataclass(frozen=True, slots=True)
class ConvTranspose:
    """N-d transposed convolution, as torch.nn.ConvTranspose1d/2d/3d."""

    out_channels: int = key("c")
    kernel: IntOrTuple = key("k")
    stride: IntOrTuple = key("s", 1)
    padding: IntOrTuple = key("p", 0)
    output_padding: IntOrTuple = key("output_padding", 0)
    dilation: IntOrTuple = key("d", 1)
    groups: int = key("groups", 1)
    bias: bool = key("bias", True)
    kind: str = "convT"


@dataclass(frozen=True, slots=True)
class Pool:
    """Max or average pooling; the stride defaults to the kernel size, as in PyTorch."""

    kernel: IntOrTuple = key("k")
    stride: IntOrTuple | None = field(default=None, metadata={"key": "s", "optional": True})
    padding: IntOrTuple = key("p", 0)
    dilation: IntOrTuple = key("d", 1)
    ceil_mode: bool = key("ceil", False)
    kind: str = "maxpool"  # or "avgpool"


@dataclass(frozen=True, slots=True)
class Subsample:
    """LeNet-5's trainable subsampling (S2, S4): each map sums a window, multiplies it by one
    learned coefficient and adds one learned bias."""

    kernel: IntOrTuple = key("k")
    stride: IntOrTuple | None = field(default=None, metadata={"key": "s", "optional": True})
    kind: str = "subsample"


@dataclass(frozen=True, slots=True)
class AdaptivePool:
    """Adaptive pooling to a fixed output size; global pooling is output size 1."""

    output_size: IntOrTuple = key("out", 1)
    kind: str = "adaptive_avgpool"  # or adaptive_maxpool, global_avgpool, global_maxpool


@dataclass(frozen=True, slots=True)
class Linear:
    """Fully connected layer. On an input with spatial axes it acts on the channel axis at each
    position (what nn.Linear does in a channels-last block such as ConvNeXt's)."""

    out_features: int = key("out")
    bias: bool = key("bias", True)
    kind: str = "linear"


@dataclass(frozen=True, slots=True)
class Flatten:
    """Flattens C×H×W into one feature axis."""

    kind: str = "flatten"


@dataclass(frozen=True, slots=True)
class Norm:
    """batchnorm (per channel, with running statistics), layernorm (over the channels at each
    position, as ConvNeXt's LayerNorm2d), groupnorm (`groups` groups of channels)."""

    affine: bool = key("affine", True)
    groups: int = key("groups", 1)
    kind: str = "batchnorm"


@dataclass(frozen=True, slots=True)
class LRN:
    """Local response normalisation across `size` neighbouring channels (AlexNet, VGG A-LRN)."""

    size: int = key("size", 5)
    kind: str = "lrn"


@dataclass(frozen=True, slots=True)
class Elementwise:
    """Activations, dropout, identity: same shape out, nothing learned, no multiply-adds."""

    kind: str = "relu"


@dataclass(frozen=True, slots=True)
class Upsample:
    """Upsampling by an integer factor per axis, nearest or bilinear."""

    scale: IntOrTuple = key("scale", 2)
    mode: str = key("mode", "nearest")
    kind: str = "upsample"


@dataclass(frozen=True, slots=True)
class Scale:
    """A learned per-channel multiplier (ConvNeXt's layer scale)."""

    kind: str = "scale"


Layer = Conv | ConvTranspose | Pool | Subsample | AdaptivePool | Linear | Flatten | Norm | LRN | Elementwise | Upsample | Scale
