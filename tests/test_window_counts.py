"""Property tests: the output-size formulas equal a brute-force count of window positions."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcalc import Conv, ConvcalcError, ConvTranspose, Pool, analyze_layer

sizes = st.integers(1, 40)
kernels = st.integers(1, 7)
strides = st.integers(1, 5)
pads = st.integers(0, 4)
dilations = st.integers(1, 3)


def conv_windows(m, k, s, p, d):
    """Window starts 0, S, 2S, … on the padded input whose span D·(K − 1) + 1 fits inside it."""
    span = d * (k - 1) + 1
    return sum(1 for start in range(0, m + 2 * p, s) if start + span <= m + 2 * p)


def ceil_pool_windows(m, k, s, p, d):
    """ceil_mode: a window may hang over the end of the padded input by less than one stride,
    and must start inside the input or its left padding."""
    span = d * (k - 1) + 1
    return sum(1 for start in range(0, m + p, s) if start + span - (m + 2 * p) < s)


def scatter_length(m, k, s, p, d, output_padding):
    """A transposed convolution scatters input i onto positions i·S + D·t − P, t < K; the output
    runs to the last position reached, plus output_padding."""
    reached = [i * s + d * t for i in range(m) for t in range(k)]
    return max(reached) + 1 - 2 * p + output_padding


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, pads, dilations)
def test_conv_output_counts_windows(m, k, s, p, d):
    expected = conv_windows(m, k, s, p, d)
    try:
        out = analyze_layer(Conv(out_channels=1, kernel=k, stride=s, padding=p, dilation=d), (1, m)).output_shape[1]
    except ConvcalcError:
        assert expected == 0
    else:
        assert out == expected


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, pads, dilations, st.booleans())
def test_max_pool_output_counts_windows(m, k, s, p, d, ceil_mode):
    assume(2 * p <= k)
    expected = ceil_pool_windows(m, k, s, p, d) if ceil_mode else conv_windows(m, k, s, p, d)
    layer = Pool(kernel=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    try:
        out = analyze_layer(layer, (1, m)).output_shape[1]
    except ConvcalcError:
        assert expected == 0
    else:
        assert out == expected


@settings(max_examples=300, deadline=None)
@given(sizes, kernels, strides, pads, dilations, st.integers(0, 4))
def test_transposed_output_follows_the_scatter(m, k, s, p, d, output_padding):
    assume(output_padding < max(s, d))
    expected = scatter_length(m, k, s, p, d, output_padding)
    layer = ConvTranspose(out_channels=1, kernel=k, stride=s, padding=p, output_padding=output_padding, dilation=d)
    try:
        out = analyze_layer(layer, (1, m)).output_shape[1]
    except ConvcalcError:
        assert expected < 1
    else:
        assert out == expected
