"""Every table keyed by a layer kind covers every kind, once: formulas.KINDS (record, formula, what it
saves, --by-op group) is the one list, and each table elsewhere — the explanation, the PyTorch writer,
the by-operator names, the description's sugar, the command line's --op — is checked against it, so a
kind added in one place and forgotten in another fails here rather than falling to a silent default."""

from __future__ import annotations

import pytest

from convcalc.core.formulas import ACTIVATIONS, GROUPS, KINDS, MERGE_KINDS, ROW_KINDS, elementwise
from convcalc.core.memory import Saves


def test_every_kind_has_a_record_a_formula_a_saving_rule_and_a_group():
    for name, kind in KINDS.items():
        assert kind.layer is not None and callable(kind.cost), name
        assert kind.layer._field_defaults.get("kind") in KINDS, name  # the record's own default is a kind
        assert isinstance(kind.saves, Saves) and kind.group in GROUPS, name
    for name, kind in MERGE_KINDS.items():
        assert kind.layer is None and kind.cost is None and kind.group == "merge", name
    assert set(ACTIVATIONS) <= {n for n, k in KINDS.items() if k.cost is elementwise}


def test_every_row_kind_is_explained():
    from convcalc.teach.explain import LINES

    assert set(LINES) == set(ROW_KINDS)


def test_every_kind_has_a_pytorch_writer():
    from convcalc.formats.pytorch_export import ACTIVATIONS as TORCH_ACTIVATIONS, WRITERS

    assert set(WRITERS) == set(KINDS)
    assert set(TORCH_ACTIVATIONS) == {n for n, k in KINDS.items() if k.cost is elementwise}


def test_every_group_has_a_name():
    from convcalc.render.report import OP_GROUP_NAMES

    assert tuple(OP_GROUP_NAMES) == GROUPS


def test_the_readers_and_the_command_line_name_only_kinds():
    from convcalc.cli.layer import OP_FLAGS, Op
    from convcalc.formats.onnxfile import ACTIVATIONS as ONNX_ACTIVATIONS
    from convcalc.formats.spec import SUGAR

    assert set(SUGAR) <= set(KINDS) and set(ONNX_ACTIVATIONS.values()) <= set(KINDS)
    assert set(OP_FLAGS) == {op.value for op in Op} and set(OP_FLAGS) <= set(KINDS)


@pytest.mark.parametrize("name", ["class_token", "position_embedding", "lrn", "gelu", "dropout"])
def test_kinds_once_explained_by_a_default_say_what_they_do(name):
    """ViT's class token (C parameters, one more position) and position embedding (C·L) were explained as
    'same shape, no parameters, 0 MACs'; now each line quotes the row's own figures."""
    from convcalc.core.layers import LRN, ClassToken, Elementwise, PositionEmbedding
    from convcalc.core.network import single_layer
    from convcalc.teach.explain import LINES

    layer, shape = {"class_token": (ClassToken(), (768, 196)), "position_embedding": (PositionEmbedding(), (768, 197)),
                    "lrn": (LRN(size=5), (96, 55, 55)), "gelu": (Elementwise("gelu"), (8, 4)),
                    "dropout": (Elementwise("dropout"), (10,))}[name]
    (row,) = [r for r in single_layer(layer, shape).rows if r.leaf]
    text = " ".join(LINES[name](row))
    expected = {"class_token": ["196 + 1 = 197", "C = 768"], "position_embedding": [f"768·197 = {768 * 197:,}"],
                "lrn": ["5 neighbouring channels", "0 MACs"], "gelu": ["gelu", "0 MACs"], "dropout": ["dropout", "0 MACs"]}[name]
    assert all(part in text for part in expected), text


def test_vit_attention_is_its_own_group_by_operator():
    """`net vit_b_16 --by-op` filed all 12 attention layers (35.8% of the MACs) under 'other'."""
    from convcalc.core.network import analyze
    from convcalc.formats.spec import load
    from convcalc.formats.zoo import find

    groups: dict[str, list] = {}
    for row in analyze(load(find("vit_b_16"))).leaves:
        groups.setdefault(ROW_KINDS[row.kind].group, []).append(row)
    assert "other" not in groups and len(groups["attention"]) == 12
    assert sum(r.macs for r in groups["attention"]) == 12 * (4 * 197 * 768 ** 2 + 2 * 197 ** 2 * 768)
    assert sum(r.params for r in groups["embedding"]) == 768 + 768 * 197
