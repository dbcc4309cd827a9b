"""The receptive field against PyTorch's gradients: build random 2-D networks with branches in
torch with every weight positive (max pooling becomes average pooling over the same window),
backpropagate from one output position, and compare the non-zero region of the input gradient
with convcalc's field (size and position, per axis). Runs where torch is installed."""

import random

import pytest

from convcalc import Conv, ConvcalcError, LayerNode, Merge, Network, Pool, analyze

torch = pytest.importorskip("torch")
F = torch.nn.functional

CASES = 150


def apply(layer, x):
    dims = x.dim() - 2
    if isinstance(layer, Conv):
        c_in = x.shape[1]
        k = layer.kernel if isinstance(layer.kernel, tuple) else (layer.kernel,) * dims
        weight = torch.full((layer.out_channels, c_in // layer.groups, *k), 1.0, dtype=x.dtype)
        conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
        return conv(x, weight / weight[0].numel(), stride=layer.stride, padding=layer.padding,
                    dilation=layer.dilation, groups=layer.groups)
    assert isinstance(layer, Pool)
    stride = layer.kernel if layer.stride is None else layer.stride
    if layer.dilation in (1, (1,) * dims):
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
        return pool(x, layer.kernel, stride, layer.padding, ceil_mode=layer.ceil_mode)
    # dilated max pooling: the same window as an all-positive depthwise convolution
    k = layer.kernel if isinstance(layer.kernel, tuple) else (layer.kernel,) * dims
    weight = torch.ones((x.shape[1], 1, *k), dtype=x.dtype)
    return (F.conv1d, F.conv2d, F.conv3d)[dims - 1](x, weight, stride=stride, padding=layer.padding,
                                                   dilation=layer.dilation, groups=x.shape[1])


def run(nodes, x):
    for node in nodes:
        if isinstance(node, Merge):
            outs = [run(path, x) for path in node.paths]
            x = sum(outs) if node.op == "add" else torch.cat(outs, 1)
        else:
            x = apply(node.layer, x)
    return x


def gradient_region(network, unit):
    """Per axis, [first, last + 1) of the input cells with a non-zero gradient from `unit`."""
    x = torch.ones((1, *network.input_shape), dtype=torch.float64, requires_grad=True)
    y = run(network.body, x)
    y[(0, slice(None), *unit)].sum().backward()
    nonzero = x.grad[0].abs().sum(0) > 0
    region = []
    for axis in range(nonzero.dim()):
        others = tuple(a for a in range(nonzero.dim()) if a != axis)
        hits = nonzero.any(dim=others) if others else nonzero
        idx = hits.nonzero().flatten()
        region.append((int(idx.min()), int(idx.max()) + 1))
    return region


def per_axis(rng, low, high):
    return (rng.randint(low, high), rng.randint(low, high))


def random_layer(rng):
    k, s, d = per_axis(rng, 1, 5), per_axis(rng, 1, 2), per_axis(rng, 1, 2)
    if rng.random() < 0.6:
        return Conv(out_channels=rng.choice((1, 2, 3)), kernel=k, stride=s, padding=per_axis(rng, 0, 2), dilation=d)
    ceil = rng.random() < 0.3
    return Pool(kernel=k, stride=s, padding=tuple(rng.randint(0, ki // 2) for ki in k), dilation=(1, 1) if ceil else d, ceil_mode=ceil)


SAME = [Conv(out_channels=2, kernel=(3, 5), padding=(1, 2)), Conv(out_channels=2, kernel=3, padding=2, dilation=2),
        Pool(kernel=3, stride=1, padding=1), Conv(out_channels=2, kernel=(1, 7), padding=(0, 3))]
HALVE = [Conv(out_channels=2, kernel=3, stride=2, padding=1), Conv(out_channels=2, kernel=1, stride=2),
         Conv(out_channels=2, kernel=(2, 4), stride=2, padding=(0, 1)), Pool(kernel=2, stride=2)]


def random_network(rng) -> Network:
    body, n = [], 0
    for _ in range(rng.randint(1, 4)):
        n += 1
        if rng.random() < 0.5:
            body.append(LayerNode(f"l{n}", random_layer(rng)))
            continue
        halve = rng.random() < 0.5
        paths = []
        for p in range(rng.randint(2, 3)):
            layers = ([rng.choice(HALVE)] if halve else []) + [rng.choice(SAME) for _ in range(rng.randint(0, 2))]
            paths.append(tuple(LayerNode(f"l{n}.{p}.{i}", layer) for i, layer in enumerate(layers)))
        body.append(Merge(f"m{n}", rng.choice(("add", "concat")), tuple(paths), tuple(f"p{i}" for i in range(len(paths)))))
    # channel counts must agree at an add: make every layer's output 2 channels wide
    return Network("random", (2, rng.randint(24, 64), rng.randint(24, 64)), tuple(body))


def two_channels(nodes):
    out = []
    for node in nodes:
        if isinstance(node, Merge):
            out.append(node._replace(paths=tuple(two_channels(p) for p in node.paths)))
        elif isinstance(node.layer, Conv):
            out.append(node._replace(layer=node.layer._replace(out_channels=2)))
        else:
            out.append(node)
    return tuple(out)


def comparable(rng):
    """A random network whose middle output position's field lies inside the image (so that the
    gradient can show all of it), with that position and the field's extent per axis."""
    while True:
        network = random_network(rng)
        network = network._replace(body=two_channels(network.body))
        try:
            last = analyze(network).leaves[-1]
        except ConvcalcError:
            continue  # an impossible random network: draw another
        unit = tuple(n // 2 for n in last.output_shape[1:])
        field = []
        for axis, u, m in zip(last.field.axes, unit, network.input_shape[1:]):
            centre = axis.start + u * axis.jump
            field.append((centre - axis.size / 2, centre + axis.size / 2))
        if all(0 <= low and high <= m for (low, high), m in zip(field, network.input_shape[1:])):
            return network, unit, field


@pytest.mark.parametrize("seed", range(CASES))
def test_field_matches_the_gradient(seed):
    network, unit, field = comparable(random.Random(seed))
    assert gradient_region(network, unit) == field
