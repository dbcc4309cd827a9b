"""PyTorch as the oracle: for hundreds of random layers, convcalc's output shape and parameter
count equal torch's, and convcalc refuses a configuration exactly when torch does.

Runs where torch is installed (CI installs the CPU build); skips otherwise.
"""

import random

import pytest

from convcalc import Conv, ConvcalcError, ConvTranspose, Pool, analyze_layer

torch = pytest.importorskip("torch")
nn = torch.nn

CASES = 500


def torch_result(build, shape):
    """(output shape without batch, parameter count), or None where torch refuses."""
    try:
        module = build()
        with torch.no_grad():
            out = module(torch.zeros(1, *shape))
    except (RuntimeError, ValueError):
        return None
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def ours(layer, shape):
    try:
        cost = analyze_layer(layer, shape)
    except ConvcalcError:
        return None, ()
    return (cost.output_shape, cost.params), cost.warnings


def random_case(rng: random.Random):
    dims = rng.choice((1, 2, 2, 3))
    top = {1: 24, 2: 16, 3: 9}[dims]
    spatial = tuple(rng.randint(1, top) for _ in range(dims))
    per_axis = lambda low, high: rng.randint(low, high) if rng.random() < 0.6 else tuple(rng.randint(low, high) for _ in range(dims))
    kind = rng.choice(("conv", "conv", "convT", "maxpool", "avgpool"))
    c_in = rng.choice((1, 2, 3, 4, 6, 8))
    c_out = rng.choice((1, 2, 3, 4, 6, 8))
    k, s, d = per_axis(1, 5), per_axis(1, 3), per_axis(1, 3)
    if kind == "conv":
        groups = rng.choice((1, 1, 2, 3, 4))
        bias = rng.random() < 0.7
        padding = rng.choice((per_axis(0, 3), "valid", "same"))
        conv_nd = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
        build = lambda: conv_nd(c_in, c_out, k, stride=s, padding=padding, dilation=d, groups=groups, bias=bias)
        layer = Conv(out_channels=c_out, kernel=k, stride=s, padding=padding, dilation=d, groups=groups, bias=bias)
    elif kind == "convT":
        groups = rng.choice((1, 1, 2, 3))
        bias = rng.random() < 0.7
        padding, output_padding = per_axis(0, 3), per_axis(0, 2)
        conv_nd = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[dims - 1]
        build = lambda: conv_nd(c_in, c_out, k, stride=s, padding=padding, output_padding=output_padding, groups=groups, bias=bias, dilation=d)
        layer = ConvTranspose(out_channels=c_out, kernel=k, stride=s, padding=padding, output_padding=output_padding, dilation=d, groups=groups, bias=bias)
    else:
        padding, ceil_mode = per_axis(0, 2), rng.random() < 0.5
        stride = None if rng.random() < 0.3 else s
        if kind == "maxpool":
            pool_nd = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[dims - 1]
            build = lambda: pool_nd(k, stride=stride, padding=padding, dilation=d, ceil_mode=ceil_mode)
            layer = Pool(kernel=k, stride=stride, padding=padding, dilation=d, ceil_mode=ceil_mode, kind="maxpool")
        else:
            pool_nd = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[dims - 1]
            build = lambda: pool_nd(k, stride=stride, padding=padding, ceil_mode=ceil_mode)
            layer = Pool(kernel=k, stride=stride, padding=padding, ceil_mode=ceil_mode, kind="avgpool")
    return layer, (c_in, *spatial), build


@pytest.mark.parametrize("seed", range(CASES))
def test_matches_torch(seed):
    layer, shape, build = random_case(random.Random(seed))
    expected = torch_result(build, shape)
    got, warnings = ours(layer, shape)
    if expected is None and got is not None:
        # the one deliberate difference: 'same' padding with a stride, which convcalc computes
        # by TensorFlow's rule and flags
        assert any("PyTorch refuses" in w for w in warnings), f"torch refuses {layer} on {shape}, convcalc gives {got}"
    else:
        assert got == expected, f"{layer} on {shape}"


def test_the_cases_exercise_both_outcomes():
    outcomes = [torch_result(build, shape) is None for layer, shape, build in (random_case(random.Random(s)) for s in range(CASES))]
    assert 0.1 < sum(outcomes) / CASES < 0.9
