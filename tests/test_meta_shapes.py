"""The outputs the meta run makes itself (convcalc/formats/metashapes.py) against PyTorch's own meta kernels:
for any convolution or inference batch norm, either the same shape, strides and dtype, or no answer where
PyTorch's kernel refuses the arguments (its error then stays PyTorch's)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from convcalc.formats.metashapes import shortcut  # noqa: E402

aten = torch.ops.aten


def pytorch_meta(func, args):
    """PyTorch's answer on the meta device: the output(s), or None where it raises."""
    try:
        return func(*args)
    except (RuntimeError, ValueError, IndexError, ZeroDivisionError):
        return None


def same_tensors(ours, theirs) -> None:
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (a.shape, a.stride(), a.dtype, a.device.type) == (b.shape, b.stride(), b.dtype, b.device.type)


@settings(max_examples=300, deadline=None)
@given(spatial=st.integers(1, 3), batch=st.integers(1, 2), groups=st.integers(1, 3), per_group_in=st.integers(1, 3),
       per_group_out=st.integers(1, 3), data=st.data(), transposed=st.booleans(), wrong_channels=st.booleans())
def test_convolution_matches_pytorch(spatial, batch, groups, per_group_in, per_group_out, data, transposed, wrong_channels):
    axis = st.lists(st.integers(1, 4), min_size=spatial, max_size=spatial)
    hostile = st.lists(st.integers(-1, 4), min_size=spatial, max_size=spatial)  # a stride or dilation of 0 or −1 too
    sizes = data.draw(st.lists(st.integers(1, 12), min_size=spatial, max_size=spatial))
    kernel, stride, dilation = data.draw(axis), data.draw(hostile), data.draw(hostile)
    padding = data.draw(st.lists(st.integers(-1, 3), min_size=spatial, max_size=spatial))
    output_padding = data.draw(st.lists(st.integers(0, 2), min_size=spatial, max_size=spatial))
    channels_in = groups * per_group_in + (1 if wrong_channels else 0)
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]))
    if transposed:
        weight = torch.empty(groups * per_group_in, per_group_out, *kernel, device="meta", dtype=dtype)
    else:
        weight = torch.empty(groups * per_group_out, per_group_in, *kernel, device="meta", dtype=dtype)
    bias = (torch.empty(weight.shape[1] * groups if transposed else weight.shape[0], device="meta", dtype=dtype)
            if data.draw(st.booleans()) else None)
    x = torch.empty(batch, channels_in, *sizes, device="meta", dtype=dtype if data.draw(st.booleans()) else torch.float32)
    args = (x, weight, bias, stride, padding, dilation, transposed, output_padding if transposed else [0] * spatial, groups)
    ours, theirs = shortcut(torch, aten.convolution.default, args, {}), pytorch_meta(aten.convolution.default, args)
    if theirs is None:
        assert ours is None
    elif ours is not None:
        same_tensors(ours, theirs)
    if not transposed and not wrong_channels and x.dtype == weight.dtype and min(stride + dilation) >= 1 and min(padding) >= 0 and all(
            (m + 2 * p - d * (k - 1) - 1) // s + 1 >= 1 for m, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)):
        assert ours is not None  # a well-formed convolution is always answered here: ⌊(M + 2P − D(K − 1) − 1)/S⌋ + 1
        assert list(ours.shape[2:]) == [(m + 2 * p - d * (k - 1) - 1) // s + 1
                                        for m, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)]


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("op", ["native_batch_norm", "_native_batch_norm_legit_no_training"])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_pytorch(layout, op, affine):
    x = torch.empty(2, 16, 7, 5, device="meta")
    x = x.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else x
    stats = [torch.empty(16, device="meta") for _ in range(4)]
    weight, bias = (stats[0], stats[1]) if affine else (None, None)
    func = getattr(aten, op).default
    args = (x, weight, bias, stats[2], stats[3], *((False,) if op == "native_batch_norm" else ()), 0.1, 1e-5)
    ours = shortcut(torch, func, args, {})
    assert ours is not None
    same_tensors(ours, pytorch_meta(func, args))


@pytest.mark.parametrize("case", ["training", "half precision", "wrong channel count", "no running statistics"])
def test_batch_norm_left_to_pytorch(case):
    dtype = torch.float16 if case == "half precision" else torch.float32
    x = torch.empty(2, 16, 7, 5, device="meta", dtype=dtype)
    stats = [torch.empty(15 if case == "wrong channel count" else 16, device="meta") for _ in range(4)]
    running = (None, None) if case == "no running statistics" else (stats[2], stats[3])
    args = (x, stats[0], stats[1], *running, case == "training", 0.1, 1e-5)
    assert shortcut(torch, aten.native_batch_norm.default, args, {}) is None


def test_only_meta_tensors_are_answered():
    x, weight = torch.empty(1, 3, 8, 8), torch.empty(4, 3, 3, 3)
    args = (x, weight, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    assert shortcut(torch, aten.convolution.default, args, {}) is None
    assert shortcut(torch, aten.relu.default, (x.to("meta"),), {}) is None
