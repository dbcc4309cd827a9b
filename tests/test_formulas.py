"""Every layer formula as a table of cases; expected values are written as the arithmetic."""

from fractions import Fraction

import pytest

from convcalc import AdaptivePool, Conv, ConvcalcError, ConvTranspose, Flatten, Linear, Norm, Pool, Subsample, Upsample, analyze_layer, single_layer


def conv(c=1, k=3, **kw):
    return Conv(out_channels=c, kernel=k, **kw)


# (layer, input shape, expected output shape) — course notes first
OUTPUT_SHAPES = [
    # seeds/000: 10×10 input, 5×5 kernel, P=1, S=2 → ⌊(10 + 2 − 5)/2⌋ + 1
    (conv(k=5, padding=1, stride=2), (1, 10, 10), (1, (10 + 2 - 5) // 2 + 1, (10 + 2 - 5) // 2 + 1)),
    # seeds/000 homework: 32×32, one 3×3 kernel, P=1, S=2 → 16×16
    (conv(k=3, padding=1, stride=2, bias=False), (1, 32, 32), (1, (32 + 2 - 3) // 2 + 1, (32 + 2 - 3) // 2 + 1)),
    # seeds/003: 3×32×32, ten 5×5 filters, stride 1, pad 2 → 10×32×32
    (conv(c=10, k=5, padding=2), (3, 32, 32), (10, 32 - 5 + 2 * 2 + 1, 32 - 5 + 2 * 2 + 1)),
    # seeds/001 (d2l): 8×8 with kernel (5, 3), padding (2, 1) keeps 8×8
    (conv(k=(5, 3), padding=(2, 1)), (1, 8, 8), (1, 8 + 4 - 5 + 1, 8 + 2 - 3 + 1)),
    # seeds/001: kernel 3, padding 1, stride 2 halves 8×8
    (conv(k=3, padding=1, stride=2), (1, 8, 8), (1, (8 + 2 - 3) // 2 + 1, (8 + 2 - 3) // 2 + 1)),
    # seeds/001: kernel (3, 5), padding (0, 1), stride (3, 4) → 2×2
    (conv(k=(3, 5), padding=(0, 1), stride=(3, 4)), (1, 8, 8), (1, (8 - 3) // 3 + 1, (8 + 2 - 5) // 4 + 1)),
    # seeds/002 LeNet-5: C1 28×28, C3 10×10, C5 1×1
    (conv(c=6, k=5), (1, 32, 32), (6, 32 - 5 + 1, 32 - 5 + 1)),
    (conv(c=16, k=5), (6, 14, 14), (16, 14 - 5 + 1, 14 - 5 + 1)),
    (conv(c=120, k=5), (16, 5, 5), (120, 1, 1)),
    # seeds/004 dilated: effective kernel m' = m + (m − 1)(d − 1)
    (conv(k=3, dilation=2), (1, 9, 9), (1, 9 - (3 + 2 * 1) + 1, 9 - (3 + 2 * 1) + 1)),
    (conv(k=3, dilation=(1, 3)), (1, 20, 20), (1, 20 - 3 + 1, 20 - 7 + 1)),
    # seeds/004 narrow / wide / equal-length convolution (1-D): n − m + 1, n + m − 1, n
    (conv(k=5, padding="valid"), (1, 12), (1, 12 - 5 + 1)),
    (conv(k=5, padding="full"), (1, 12), (1, 12 + 5 - 1)),
    (conv(k=5, padding="same"), (1, 12), (1, 12)),
    (conv(k=4, padding="same"), (1, 12), (1, 12)),
    # 'same' with stride 2 follows TensorFlow: ⌈M/S⌉
    (conv(k=3, padding="same", stride=2), (1, 7, 7), (1, -(-7 // 2), -(-7 // 2))),
    # 3-D and 1-D (seeds/003: C_out × (L − K + 1))
    (conv(c=4, k=3), (2, 8, 16, 16), (4, 8 - 3 + 1, 16 - 3 + 1, 16 - 3 + 1)),
    (conv(c=4, k=3), (2, 50), (4, 50 - 3 + 1)),
    # pooling: stride defaults to the kernel
    (Pool(kernel=2), (6, 28, 28), (6, 14, 14)),
    (Pool(kernel=3, stride=2, kind="maxpool"), (64, 112, 112), (64, (112 - 3) // 2 + 1, (112 - 3) // 2 + 1)),
    (Pool(kernel=3, stride=2, padding=1), (64, 112, 112), (64, (112 + 2 - 3) // 2 + 1, (112 + 2 - 3) // 2 + 1)),
    # ceil_mode: ⌈(M + 2P − K)/S⌉ + 1 (GoogLeNet's 112 → 56 with k3 s2)
    (Pool(kernel=3, stride=2, ceil_mode=True), (64, 112, 112), (64, -(-(112 - 3) // 2) + 1, -(-(112 - 3) // 2) + 1)),
    (Pool(kernel=2, stride=2, ceil_mode=True), (1, 5), (1, -(-(5 - 2) // 2) + 1)),
    # ceil_mode drops a last window that would start in the right padding: M=4, K=2, S=2, P=1
    # ⌈(4 + 2 − 2)/2⌉ + 1 = 3 windows start at 0, 2, 4; 4 ≥ M + P = 5? no → 3 stay
    (Pool(kernel=2, stride=2, padding=1, ceil_mode=True), (1, 4), (1, 3)),
    # M=5, K=3, S=3, P=1: ⌈(5 + 2 − 3)/3⌉ + 1 = 3; the third window starts at 6 ≥ 5 + 1 → dropped
    (Pool(kernel=3, stride=3, padding=1, ceil_mode=True), (1, 5), (1, 2)),
    (Pool(kernel=2, kind="avgpool"), (16, 10, 10), (16, 5, 5)),
    # transposed: (M − 1)·S − 2P + D·(K − 1) + output_padding + 1
    (ConvTranspose(out_channels=8, kernel=4, stride=2, padding=1), (16, 7, 7), (8, 6 * 2 - 2 + 3 + 1, 6 * 2 - 2 + 3 + 1)),
    (ConvTranspose(out_channels=1, kernel=3, stride=2, padding=1, output_padding=1), (1, 4), (1, 3 * 2 - 2 + 2 + 1 + 1)),
    (ConvTranspose(out_channels=1, kernel=3, dilation=2), (1, 5), (1, 4 - 0 + 2 * 2 + 1)),
    # seeds/004 fractionally strided: z of length p, kernel m, stride s → s·(p − 1) + m
    (ConvTranspose(out_channels=1, kernel=3, stride=2), (1, 6), (1, 2 * (6 - 1) + 3)),
    (AdaptivePool(output_size=7), (512, 14, 14), (512, 7, 7)),
    (AdaptivePool(output_size=(2, 3)), (8, 5, 7), (8, 2, 3)),
    (AdaptivePool(kind="global_avgpool"), (2048, 7, 7), (2048, 1, 1)),
    (Flatten(), (16, 5, 5), (16 * 5 * 5,)),
    (Linear(out_features=120), (400,), (120,)),
    (Linear(out_features=3072), (768, 14, 14), (3072, 14, 14)),
    (Subsample(kernel=2), (6, 28, 28), (6, 14, 14)),
    (Upsample(scale=2), (3, 5, 7), (3, 10, 14)),
    (Norm(), (64, 56, 56), (64, 56, 56)),
]


@pytest.mark.parametrize("layer, shape, expected", OUTPUT_SHAPES)
def test_output_shape(layer, shape, expected):
    assert analyze_layer(layer, shape).output_shape == expected


# (layer, input shape, expected parameters)
PARAMS = [
    (conv(c=10, k=5, padding=2), (3, 32, 32), 10 * (3 * 5 * 5 + 1)),  # seeds/003: 760
    (conv(k=3, padding=1, stride=2, bias=False), (1, 32, 32), 1 * (1 * 3 * 3)),  # seeds/000 homework: 9
    (conv(c=6, k=5), (1, 32, 32), (5 * 5 + 1) * 6),  # seeds/002 LeNet C1: 156
    (conv(c=120, k=5), (16, 5, 5), 120 * (16 * 25 + 1)),  # LeNet C5: 48,120
    (Linear(out_features=84), (120,), 84 * (120 + 1)),  # LeNet F6: 10,164
    (Linear(out_features=128), (10,), 10 * 128 + 128),  # seeds/000 MLP: 1,408
    (Linear(out_features=5, bias=False), (128,), 128 * 5),
    (Subsample(kernel=2), (6, 28, 28), 6 * 2),  # LeNet S2: 12
    (Subsample(kernel=2), (16, 10, 10), 16 * 2),  # LeNet S4: 32
    (conv(c=64, k=3, groups=4), (32, 8, 8), 64 * (32 // 4 * 3 * 3 + 1)),
    (conv(c=32, k=3, groups=32), (32, 8, 8), 32 * (1 * 3 * 3 + 1)),  # depthwise
    (conv(c=4, k=(3, 5)), (2, 9, 9), 4 * (2 * 3 * 5 + 1)),
    (conv(c=4, k=3), (2, 8, 8, 8), 4 * (2 * 3 * 3 * 3 + 1)),
    (ConvTranspose(out_channels=8, kernel=4, stride=2), (16, 7, 7), 16 * 8 * 4 * 4 + 8),
    (ConvTranspose(out_channels=8, kernel=3, groups=2, bias=False), (16, 7, 7), 16 * (8 // 2) * 3 * 3),
    (Pool(kernel=2), (6, 28, 28), 0),
    (Norm(), (64, 8, 8), 2 * 64),
    (Norm(kind="layernorm"), (96, 56, 56), 2 * 96),
    (Norm(kind="groupnorm", groups=32), (256, 8, 8), 2 * 256),
]


@pytest.mark.parametrize("layer, shape, expected", PARAMS)
def test_params(layer, shape, expected):
    assert analyze_layer(layer, shape).params == expected


def test_batchnorm_buffers_are_counted_apart():
    cost = analyze_layer(Norm(), (64, 8, 8))
    assert (cost.params, cost.buffers) == (2 * 64, 2 * 64 + 1)


# LeNet-5's C3 (seeds/002, TABLE I): maps 0–5 read 3 inputs, 6–14 read 4, 15 reads all 6
LENET_C3 = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5),
)


def test_lenet_c3_partial_connection_table():
    cost = analyze_layer(Conv(out_channels=16, kernel=5, table=LENET_C3), (6, 14, 14))
    fan_in = 6 * 3 + 9 * 4 + 1 * 6
    assert cost.params == fan_in * 25 + 16 == 1516  # the notes' figure
    assert cost.macs == fan_in * 25 * 10 * 10
    assert cost.params * 10 * 10 == 151600  # the notes' "connections"


# (layer, input shape, expected MACs)
MACS = [
    # seeds/000: c_i = c_o = 100, 5×5 kernel, 64×64 output → 1.024·10⁹
    (conv(c=100, k=5, padding=2), (100, 64, 64), 100 * 100 * 5 * 5 * 64 * 64),
    (conv(k=3, padding=1, stride=2, bias=False), (1, 32, 32), 1 * 1 * 3 * 3 * 16 * 16),  # homework: 2,304
    (conv(c=64, k=3, groups=4, padding=1), (32, 8, 8), (32 // 4) * 64 * 3 * 3 * 8 * 8),
    (conv(c=4, k=3), (2, 10, 10, 10), 2 * 4 * 27 * 8 * 8 * 8),
    # transposed: C_i·(C_o/g)·∏K per input position
    (ConvTranspose(out_channels=8, kernel=4, stride=2, padding=1), (16, 7, 7), 16 * 8 * 4 * 4 * 7 * 7),
    (Linear(out_features=128), (10,), 10 * 128),
    (Linear(out_features=3072), (768, 14, 14), 768 * 3072 * 14 * 14),
    (Pool(kernel=2), (6, 28, 28), 0),
    (Norm(), (6, 28, 28), 0),
]


@pytest.mark.parametrize("layer, shape, expected", MACS)
def test_macs(layer, shape, expected):
    assert analyze_layer(layer, shape).macs == expected


def test_course_flop_figure_is_one_gigaflop():
    assert analyze_layer(conv(c=100, k=5, padding=2), (100, 64, 64)).macs == 1_024_000_000


# (layer, input shape, size, jump, start) of one layer on its own input (pixel i spans [i, i+1))
ONE_LAYER_FIELDS = [
    (conv(k=5, padding=1, stride=2), (1, 10, 10), 5, 2, Fraction(1, 2) + (5 - 1) / Fraction(2) - 1),
    (conv(k=3, dilation=2), (1, 9, 9), 2 * (3 - 1) + 1, 1, Fraction(1, 2) + 2),
    (Pool(kernel=2), (1, 8, 8), 2, 2, 1),
    (conv(k=3, padding=1), (1, 8, 8), 3, 1, Fraction(1, 2)),
]


@pytest.mark.parametrize("layer, shape, size, jump, start", ONE_LAYER_FIELDS)
def test_one_layer_receptive_field(layer, shape, size, jump, start):
    axis = single_layer(layer, shape).field.axes[0]
    assert (axis.size, axis.jump, axis.start) == (size, jump, start)


# (layer, input shape, message the error must carry)
REFUSED = [
    (conv(k=0), (1, 8, 8), r"k: must be a positive integer, got 0"),
    (conv(k=3, stride=0), (1, 8, 8), r"s: must be a positive integer, got 0"),
    (conv(k=3, padding=-1), (1, 8, 8), r"p: must be a non-negative integer, got -1"),
    (conv(k=3, padding="wider"), (1, 8, 8), r"padding: must be a number or one of valid, same, full, narrow, equal, wide, got 'wider'"),
    (conv(k=True), (1, 8, 8), r"k: must be an integer or a tuple of integers \(one per axis\), got true"),
    (conv(k=2.0), (1, 8, 8), r"k: must be an integer or a tuple of integers \(one per axis\), got 2.0"),
    (conv(k=2**53 + 1), (1, 8, 8), r"k: must be at most 2\^53 = 9,007,199,254,740,992, got 9007199254740993"),
    (conv(k=3, bias=1), (1, 8, 8), r"bias: must be true or false, got 1"),
    (conv(k=3), (1, 8, 8, 8, 8), r"input: must be a tuple of 1 to 4 positive integers up to 2\^53, got \[1, 8, 8, 8, 8\]"),
    (conv(k=9), (1, 8, 8), r"kernel larger than the padded input: effective kernel 9 > input 8 \+ padding 0"),
    (conv(k=3, dilation=5), (1, 8, 8), r"effective kernel 11 > input 8"),
    (conv(c=6, k=3, groups=4), (8, 8, 8), r"groups: must divide the input channels \(8\) and the output channels \(6\), got 4"),
    (conv(k=(3, 3, 3)), (1, 8, 8), r"k: needs 1 or 2 values for 2 spatial axes, got \[3, 3, 3\]"),
    (conv(k=3), (16,), r"conv: needs channels and 1 to 3 spatial axes, got input of shape 16"),
    (ConvTranspose(out_channels=1, kernel=3, stride=2, output_padding=2), (1, 4), r"output_padding must be smaller than the stride \(2\) or the dilation \(1\), got 2"),
    (Pool(kernel=2, padding=2), (1, 8, 8), r"padding must be at most half the kernel \(2/2\), got 2"),
    (Pool(kernel=4), (1, 3, 3), r"kernel larger than the padded input"),
    (Pool(kernel=2, dilation=2, kind="avgpool"), (1, 8, 8), r"d: average pooling has no dilation, got 2"),
    (Norm(kind="groupnorm", groups=5), (16, 4, 4), r"groups: must divide the channels \(16\), got 5"),
    (conv(k=3), (0, 8, 8), r"input: must be a tuple of 1 to 4 positive integers up to 2\^53, got \[0, 8, 8\]"),
    (Conv(out_channels=2, kernel=1, table=((0,), ((0, 1),))), (2, 4, 4), r"table\[1\]: must list input channels \(integers\), got \[\[0, 1\]\]"),
    (Conv(out_channels=2, kernel=1, table=((0,), (1, 1))), (2, 4, 4), r"table\[1\]: must list distinct input channels from 0 to 1, got \[1, 1\]"),
]


@pytest.mark.parametrize("layer, shape, message", REFUSED)
def test_refused_with_a_clear_message(layer, shape, message):
    with pytest.raises(ConvcalcError, match=message):
        analyze_layer(layer, shape)


def test_unreached_rows_are_reported():
    # (10 + 2 − 5) = 7 rows of slide at stride 2: 7 mod 2 = 1 row never reached, and it is padding
    warnings = analyze_layer(conv(k=5, padding=1, stride=2), (1, 10, 10)).warnings
    assert warnings == ("axes H, W: (M + 2P − K̂) = 7 is not divisible by S = 2: the windows never reach the last 1 row and column of the padded input (0 of input, 1 of padding)",)


def test_same_padding_with_stride_warns_it_is_tensorflows_rule():
    (warning,) = analyze_layer(conv(k=3, padding="same", stride=2), (1, 8)).warnings
    assert "PyTorch refuses padding='same' for strided convolutions" in warning
