"""The receptive field against brute force: for random small sequential and branching networks
(1-D, no torch needed), follow one output unit back through every layer to the set of input
cells that can reach it, on an unbounded index line (the theoretical field, padding included).
Its extent must equal convcalc's size and position; for the layers that convcalc marks as a bound
(transposed convolution, upsampling), it must lie inside convcalc's field."""

from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcalc import Conv, ConvcalcError, ConvTranspose, LayerNode, Merge, Network, Pool, Upsample, analyze

# ---- brute force: which input cells reach output cell o ------------------------------------


def reads(layer, o: int) -> list[int]:
    """The input cells one output cell of `layer` reads, by each layer's own definition."""
    if isinstance(layer, (Conv, Pool)):
        k, d = layer.kernel, layer.dilation
        s = layer.stride if layer.stride is not None else k
        p = layer.padding
        return [o * s - p + d * t for t in range(k)]  # window starts at o·S in padded coordinates
    if isinstance(layer, ConvTranspose):
        # input i scatters to outputs i·S − P + D·t
        k, s, p, d = layer.kernel, layer.stride, layer.padding, layer.dilation
        return [i for t in range(k) if (o + p - d * t) % s == 0 for i in [(o + p - d * t) // s]]
    if isinstance(layer, Upsample):
        return [o // layer.scale]  # nearest
    raise AssertionError(layer)


def cells(nodes, outputs: set[int]) -> set[int]:
    """Walk a path backwards from a set of its output cells to the input cells they reach."""
    for node in reversed(nodes):
        if isinstance(node, Merge):
            outputs = set().union(*(cells(path, outputs) for path in node.paths))
        else:
            outputs = {i for o in outputs for i in reads(node.layer, o)}
    return outputs


# ---- random networks ------------------------------------------------------------------------

def convs(draw, n: int, allow_bound: bool):
    layers = []
    for _ in range(n):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "pool_ceil"] + (["convT", "upsample"] if allow_bound else [])))
        k, s, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        if kind == "conv":
            layers.append(Conv(out_channels=1, kernel=k, stride=s, padding=draw(st.integers(0, 3)), dilation=d))
        elif kind.startswith("pool"):
            layers.append(Pool(kernel=k, stride=s, padding=draw(st.integers(0, k // 2)), dilation=d, ceil_mode=kind == "pool_ceil"))
        elif kind == "convT":
            layers.append(ConvTranspose(out_channels=1, kernel=k, stride=s, padding=draw(st.integers(0, 2)), dilation=d))
        else:
            layers.append(Upsample(scale=draw(st.integers(2, 3))))
    return layers


# shape-keeping stride-1 layers and size-halving stride-2 layers (for even sizes), so that the
# paths of a merge agree in shape while their fields differ in size and centre
SAME_SIZE = [Conv(out_channels=1, kernel=3, padding=1), Conv(out_channels=1, kernel=5, padding=2),
             Conv(out_channels=1, kernel=3, padding=2, dilation=2), Pool(kernel=3, stride=1, padding=1)]
HALVING = [Conv(out_channels=1, kernel=3, stride=2, padding=1), Conv(out_channels=1, kernel=1, stride=2),
           Conv(out_channels=1, kernel=2, stride=2), Conv(out_channels=1, kernel=4, stride=2, padding=1)]


@st.composite
def networks(draw, allow_bound=False):
    body, names = [], iter(range(10_000))
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            for layer in convs(draw, draw(st.integers(1, 3)), allow_bound):
                body.append(LayerNode(f"l{next(names)}", layer))
        else:
            halve = draw(st.booleans())
            paths = []
            for _ in range(draw(st.integers(2, 3))):
                path = [draw(st.sampled_from(HALVING))] if halve else []
                path += draw(st.lists(st.sampled_from(SAME_SIZE), max_size=3))
                paths.append(tuple(LayerNode(f"l{next(names)}", layer) for layer in path))
            if not halve and draw(st.booleans()):
                paths.append(())  # the identity path
            op = draw(st.sampled_from(["add", "concat"]))
            body.append(Merge(f"m{next(names)}", op, tuple(paths), tuple(f"p{i}" for i in range(len(paths)))))
    return Network("random", (1, 64 * draw(st.integers(1, 4))), tuple(body))


def extent(found: set[int]) -> tuple[int, Fraction]:
    """Size and centre of a set of cells; cell i spans [i, i + 1)."""
    low, high = min(found), max(found) + 1
    return high - low, Fraction(low + high, 2)


def check(network: Network, exact: bool):
    try:
        report = analyze(network)
    except ConvcalcError:
        assume(False)
    last = report.leaves[-1]
    size = last.output_shape[1]
    for o in {0, size // 2, size - 1}:
        found = cells(network.body, {o})
        if not found:  # a transposed convolution's stride can leave a unit with no input at all
            continue
        axis = last.field.axes[0]
        centre = axis.start + o * axis.jump
        if exact and last.field.exact:
            assert extent(found) == (axis.size, centre), f"unit {o}"
        else:  # a bound: every reached cell lies inside the field
            assert centre - axis.size / 2 <= min(found) and max(found) + 1 <= centre + axis.size / 2, f"unit {o}"


@settings(max_examples=400, deadline=None)
@given(networks())
def test_field_equals_the_cells_that_reach_a_unit(network):
    check(network, exact=True)


@settings(max_examples=300, deadline=None)
@given(networks(allow_bound=True))
def test_bounds_contain_the_cells_that_reach_a_unit(network):
    check(network, exact=False)


def test_stacked_convolutions_follow_the_course_formula():
    # seeds/003: L stacked stride-1 K×K convolutions see 1 + L·(K − 1) pixels
    for layers, k in ((1, 3), (2, 3), (3, 3), (4, 5), (7, 7)):
        body = tuple(LayerNode(f"c{i}", Conv(out_channels=1, kernel=k, padding=k // 2)) for i in range(layers))
        field = analyze(Network("stack", (1, 64, 64), body)).field
        assert [a.size for a in field.axes] == [1 + layers * (k - 1)] * 2


def test_misaligned_paths_widen_the_union_and_say_so():
    # two 2-wide 'same' convolutions pad only at the end: their field is [0, 3), centred at 1.5;
    # a 3-wide convolution with P = 1 sees [−1, 2). The union is [−1, 3): 4 wide, centred at 1.
    same2 = Conv(out_channels=1, kernel=2, padding="same")
    merge = Merge("m", "add", ((LayerNode("a1", same2), LayerNode("a2", same2)),
                               (LayerNode("b", Conv(out_channels=1, kernel=3, padding=1)),)), ("a", "b"))
    add = analyze(Network("misaligned", (1, 8), (merge,))).leaves[-1]
    assert (add.field.axes[0].size, add.field.axes[0].start) == (3 - (-1), Fraction(-1 + 3, 2))
    assert add.warnings == ("receptive field: merged paths are not centred alike on axis 0 (starts 1.5, 0.5): the union widens it from 3 to 4",)


def test_paths_with_different_jumps_give_a_bound():
    # on 4 cells, 1×1 convolutions of stride 2 and 3 both give 2 outputs, on different grids
    merge = Merge("m", "add", ((LayerNode("s2", Conv(out_channels=1, kernel=1, stride=2)),),
                               (LayerNode("s3", Conv(out_channels=1, kernel=1, stride=3)),)), ("a", "b"))
    add = analyze(Network("jumps", (1, 4), (merge,))).leaves[-1]
    assert not add.field.exact
    assert add.warnings[0] == "receptive field: merged paths step differently on axis 0 (jumps 2, 3): the field is a bound"
