"""The receptive field through a normalisation, against PyTorch's gradient: a norm whose mean and
variance span the spatial axes (instance norm, group norm, a layer norm over C×H×W) makes every
output depend on the whole input; batchnorm at inference and a layer norm over the channels at each
position (ConvNeXt's) leave the field of the convolutions around them (3 + 2 = 5 pixels)."""

import pytest

from convcalc.core.network import analyze
from convcalc.formats.spec import loads

torch = pytest.importorskip("torch")
nn = torch.nn


class PerPosition(nn.Module):
    """nn.LayerNorm over the channels at each position (channels last, then back)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


NORMS = {  # description line, the same norm in PyTorch, whether the field becomes the whole input
    "instancenorm": ("instancenorm: {affine: true}", lambda: nn.InstanceNorm2d(8, affine=True), True),
    "groupnorm": ("groupnorm: {groups: 2}", lambda: nn.GroupNorm(2, 8), True),
    "layernorm_chw": ("layernorm: {shape: [8, 14, 14]}", lambda: nn.LayerNorm([8, 14, 14]), True),
    "layernorm_hw": ("layernorm: {shape: [14, 14]}", lambda: nn.LayerNorm([14, 14]), True),
    "layernorm_per_position": ("layernorm", lambda: PerPosition(8), False),
    "batchnorm": ("batchnorm", lambda: nn.BatchNorm2d(8).eval(), False),
}


@pytest.mark.parametrize("name", NORMS)
def test_the_field_through_a_norm_is_where_the_gradient_reaches(name):
    line, build, whole = NORMS[name]
    text = f"input: [3, 16, 16]\nlayers:\n  - conv: {{c: 8, k: 3}}\n  - {line}\n  - conv: {{c: 4, k: 3}}\n"
    field = analyze(loads(text)).field
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), build(), nn.Conv2d(8, 4, 3)).double()
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 6, 6].sum().backward()  # one output position of the 12×12 map
    reached = (x.grad[0].abs().sum(0) > 0)
    rows, columns = reached.any(1).nonzero().flatten(), reached.any(0).nonzero().flatten()
    extent = (int(rows.max() - rows.min()) + 1, int(columns.max() - columns.min()) + 1)
    if whole:
        assert extent == (16, 16) and field.full
    else:
        assert extent == (3 + 2, 3 + 2) and not field.full  # two 3×3 convolutions: 1 + 2 + 2
        assert [a.size for a in field.axes] == [5, 5]
