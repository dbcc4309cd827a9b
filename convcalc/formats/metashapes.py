"""Output tensors for the operations a meta run spends most of its time in, made from their shapes alone.

PyTorch writes the meta kernels of convolution and batch normalisation in Python (batch normalisation as
a dozen element-wise operations, each checked in Python): in a CNN they take half the run. For an
operation whose arguments are all well-formed, the output is made here as the meta kernel makes it;
anything else (a channel count that does not match, an output size below one, a half-precision
normalisation) is left to PyTorch's own kernel and its own error. tests/test_meta_shapes.py checks both
against PyTorch's kernels.
"""

from __future__ import annotations

from contextlib import contextmanager

SHORTCUTS: dict = {}  # operation → the function that makes its output


def shortcut(torch, func, args, kwargs):
    """The meta output of `func(*args, **kwargs)`, or None where PyTorch's own kernel must answer."""
    global SHORTCUTS
    SHORTCUTS = SHORTCUTS or shortcuts(torch)
    make = SHORTCUTS.get(func)
    if make is None or kwargs or not args or not isinstance(args[0], torch.Tensor) or args[0].device.type != "meta":
        return None
    return make(torch, *args)


def convolution(torch, x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """aten.convolution: the meta kernel's contiguous output of ⌊(M + 2P − D(K − 1) − 1)/S⌋ + 1 per axis
    ((M − 1)S − 2P + D(K − 1) + output_padding + 1 when transposed)."""
    spatial = x.dim() - 2
    if (spatial < 1 or weight.dim() != x.dim() or weight.device.type != "meta" or groups < 1 or weight.dtype != x.dtype
            or not all(len(v) == spatial for v in (stride, padding, dilation))
            or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0):
        return None
    sizes, kernel = x.shape[2:], weight.shape[2:]
    if transposed:
        if len(output_padding) != spatial or x.shape[1] != weight.shape[0]:
            return None
        channels = weight.shape[1] * groups
        out = [(m - 1) * s - 2 * p + d * (k - 1) + op + 1
               for m, k, s, p, d, op in zip(sizes, kernel, stride, padding, dilation, output_padding)]
    else:
        if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
            return None
        channels = weight.shape[0]
        out = [(m + 2 * p - d * (k - 1) - 1) // s + 1 for m, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)]
    if min(out) < 1 or min(sizes) < 1 or (bias is not None and (bias.shape != (channels,) or bias.dtype != x.dtype)):
        return None
    return x.new_empty((x.shape[0], channels, *out))


def batch_norm(torch, x, weight, bias, running_mean, running_var, *rest):
    """Batch normalisation at inference (native_batch_norm with training False, or
    _native_batch_norm_legit_no_training): an output laid out as its input, and the meta kernel's two
    per-channel statistics."""
    training = rest[0] if len(rest) == 3 else False
    channels = x.shape[1] if x.dim() > 1 else 0
    stats = (weight, bias, running_mean, running_var)
    if (training or x.dtype not in (torch.float32, torch.float64) or running_mean is None or running_var is None
            or any(t is not None and (tuple(t.shape) != (channels,) or t.device.type != "meta" or t.dtype != x.dtype)
                   for t in stats)):
        return None
    out = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    return out, x.new_empty((channels,)), x.new_empty((channels,))


def shortcuts(torch) -> dict:
    aten = torch.ops.aten
    return {aten.convolution.default: convolution, aten.native_batch_norm.default: batch_norm,
            aten._native_batch_norm_legit_no_training.default: batch_norm}


@contextmanager
def shapes_only(torch):
    """While a model is built on the meta device (a constructor may run a forward, as Ultralytics' does to
    find its strides), the same outputs."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Shortcuts(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:  # nothing compiles while a model is read
            return False

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = shortcut(torch, func, args, kwargs)
            return func(*args, **(kwargs or {})) if out is None else out

    with Shortcuts():
        yield
