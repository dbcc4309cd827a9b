"""`compute` against PyTorch on hundreds of random small integer tensors for every operation:
conv with stride, padding, dilation, groups and bias; convT with output padding; max and
average pooling with padding and ceil_mode, average pooling under both padding rules. Integers
stay exact in float64, so conv, convT and max pooling must agree exactly; averages to 1e-12.
Runs where torch is installed."""

import math
import random

import pytest

from convcalc import ConvcalcError
from convcalc.teach import compute as c

torch = pytest.importorskip("torch")
F = torch.nn.functional
CASES = 250


def random_values(rng, shape):
    return torch.tensor([rng.randint(-9, 9) for _ in range(math.prod(shape))], dtype=torch.float64).reshape(shape)


def ours(tensor):
    return c.tensor(tensor.to(torch.int64).tolist(), "x")


def same(result, expected, tolerance=0.0):
    got = torch.tensor([float(v) for v in result.output.values], dtype=torch.float64).reshape(result.output.shape)
    assert tuple(expected.shape[1:]) == result.output.shape
    assert torch.allclose(got, expected[0], rtol=tolerance, atol=tolerance), (got, expected)


def draw(rng, dims):
    k = tuple(rng.randint(1, 3) for _ in range(dims))
    s = tuple(rng.randint(1, 3) for _ in range(dims))
    d = tuple(rng.randint(1, 2) for _ in range(dims))
    p = tuple(rng.randint(0, 2) for _ in range(dims))
    size = tuple(rng.randint(1, 7 if dims < 3 else 4) for _ in range(dims))
    return k, s, d, p, size


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv(dims):
    rng, checked = random.Random(dims), 0
    for _ in range(CASES):
        k, s, d, p, size = draw(rng, dims)
        groups = rng.choice((1, 1, 2))
        c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
        x, w, b = random_values(rng, (1, c_in, *size)), random_values(rng, (c_out, c_in // groups, *k)), random_values(rng, (c_out,))
        try:
            expected = (F.conv1d, F.conv2d, F.conv3d)[dims - 1](x, w, b, s, p, d, groups)
        except RuntimeError:
            with pytest.raises(ConvcalcError):
                c.conv(ours(x[0]), ours(w), s, p, d, groups, ours(b))
            continue
        same(c.conv(ours(x[0]), ours(w), s, p, d, groups, ours(b)), expected)
        checked += 1
    assert checked > CASES // 2


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_conv_transpose(dims):
    rng, checked = random.Random(10 + dims), 0
    for _ in range(CASES):
        k, s, d, p, size = draw(rng, dims)
        op = tuple(rng.randint(0, max(si, di) - 1) for si, di in zip(s, d))
        groups = rng.choice((1, 1, 2))
        c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
        x, w, b = random_values(rng, (1, c_in, *size)), random_values(rng, (c_in, c_out // groups, *k)), random_values(rng, (c_out,))
        try:
            expected = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1](x, w, b, s, p, op, groups, d)
        except RuntimeError:
            with pytest.raises(ConvcalcError):
                c.conv_transpose(ours(x[0]), ours(w), s, p, op, d, groups, ours(b))
            continue
        same(c.conv_transpose(ours(x[0]), ours(w), s, p, op, d, groups, ours(b)), expected)
        checked += 1
    assert checked > CASES // 2


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("op", ["maxpool", "avgpool-with-padding", "avgpool-without-padding"])
def test_pooling(dims, op):
    rng, checked = random.Random(f"{dims} {op}"), 0
    for _ in range(CASES):
        k, s, d, _, size = draw(rng, dims)
        p = tuple(rng.randint(0, ki // 2) for ki in k)
        ceil = rng.random() < 0.4
        channels = rng.randint(1, 2)
        x = random_values(rng, (1, channels, *size))
        if op == "maxpool":
            call = lambda: (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1](x, k, s, p, d, ceil_mode=ceil)  # noqa: E731
            mine = lambda: c.pool(ours(x[0]), "maxpool", k, s, p, d, ceil)  # noqa: E731
        else:
            count = op == "avgpool-with-padding"
            call = lambda: (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1](x, k, s, p, ceil_mode=ceil, count_include_pad=count)  # noqa: E731
            mine = lambda: c.pool(ours(x[0]), "avgpool", k, s, p, 1, ceil, count)  # noqa: E731
        try:
            expected = call()
        except RuntimeError:
            with pytest.raises(ConvcalcError):
                mine()
            continue
        if torch.isinf(expected).any():  # a window of padding alone: −∞ in PyTorch, refused here
            with pytest.raises(ConvcalcError, match="holds only padding"):
                mine()
            continue
        same(mine(), expected, 1e-12)
        checked += 1
    assert checked > CASES // 3
