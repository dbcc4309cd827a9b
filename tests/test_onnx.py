"""ONNX files read as convcalc networks (convcalc/formats/onnxfile.py): torchvision's networks
exported by PyTorch give PyTorch's MACs and output shapes, and parameters equal to the graph's own
initializers; graphs built with the onnx package cover the operators one by one; a file that is not
ONNX is one error line. The export and graph-building tests run where torch, torchvision and onnx
are installed (CI installs them); the hostile-file tests run everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convcalc import analyze
from convcalc.core.errors import SpecError
from convcalc.formats.onnxfile import read_onnx

# torchvision's convolutional classifiers but the largest (each export allocates and folds the real weights)
HEAVY = {"regnet_y_128gf", "vit_h_14"}  # 2.6 GB on the CPU; 2.5 GB of weights written out: checked by hand


def convolutional_classifiers() -> list[str]:
    try:
        import torchvision
    except ImportError:
        return ["resnet18"]  # skipped below without torch
    return [n for n in torchvision.models.list_models(module=torchvision.models)
            if not n.startswith(("vit_", "swin_", "maxvit_")) and n not in HEAVY]


EXPORTED = convolutional_classifiers()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    pytest.importorskip("onnx")
    folder = tmp_path_factory.mktemp("onnx")

    def export(name: str):
        kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
        model = torchvision.models.get_model(name, **kwargs).eval()
        shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
        path = folder / f"{name}.onnx"
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False, opset_version=17)
        return model, shape, path

    return export


def weights_in_use(path: Path) -> int:
    """The elements of the float initializers the graph's nodes read (weights, biases, scales, tables), counted
    at each use: an exporter stores identical tensors once and hands them on through Identity nodes. An
    unfolded batchnorm's mean and variance are buffers."""
    import math

    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    sizes = {t.name: math.prod(t.dims) for t in graph.initializer if t.data_type in (1, 10, 11, 16)}
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in sizes:
            sizes[node.output[0]] = sizes[node.input[0]]
    read = [(node, i) for node in graph.node if node.op_type != "Identity" for i in node.input if sizes.get(i, 1) > 1]
    return sum(sizes[i] for node, i in read if not (node.op_type == "BatchNormalization" and i in node.input[3:5]))


@pytest.mark.parametrize("name", EXPORTED)
def test_exported_torchvision_networks_equal_pytorch(exported, name):
    from test_torch_bridge import pytorch_figures

    model, shape, path = exported(name)
    report = analyze(read_onnx(path))
    theirs = pytorch_figures(model, shape)
    assert (report.macs, report.output_shape) == (theirs["macs"], theirs["output_shape"])
    assert report.params == weights_in_use(path)  # BatchNorm folded into the convolutions: the graph's own weights
    assert not report.unknown_ops
    path.unlink()  # VGG's file is half a gigabyte: one at a time on disk


def transformers() -> list[str]:
    try:
        import torchvision
    except ImportError:
        return ["vit_b_16"]  # skipped below without torch
    return [n for n in torchvision.models.list_models(module=torchvision.models) if n.startswith(("vit_", "swin_", "maxvit_"))
            and n not in HEAVY]


@pytest.mark.parametrize("name", transformers())
def test_exported_attention_networks_equal_pytorch(exported, name):
    """Attention as the exporter writes it (reshapes, transposes, products of two activations, Swin's masks) read
    a scope at a time: MACs as PyTorch's own FLOP counter counts the model (math attention), the output shape of a
    forward pass, parameters the graph's own."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    model, shape, path = exported(name)
    report = analyze(read_onnx(path))
    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):  # with gradients: no fused fast path
        out = model(torch.zeros(1, *shape))
    assert (report.macs, report.output_shape) == (counter.get_total_flops() // 2, tuple(out.shape[1:]))
    assert report.params == weights_in_use(path)
    assert not report.unknown_ops and any(r.kind == "subgraph" for r in report.leaves)
    path.unlink()


def test_resnet50_parameters_with_batchnorm_folded(exported):
    import torch

    from test_torch_bridge import pytorch_figures

    model, shape, path = exported("resnet50")
    report = analyze(read_onnx(path))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # PyTorch's parameters less every batchnorm's weight and bias, plus the bias folding gives each convolution
    # (25,557,032 − 53,120 + 26,560 for torchvision's ResNet-50)
    folded = sum(p.numel() for p in model.parameters()) - sum(2 * m.num_features for m in norms) + sum(m.num_features for m in norms)
    assert report.params == folded
    assert report.macs == pytorch_figures(model, shape)["macs"]
    names = [r.name for r in report.rows]  # blocks from the exporter's scopes, /layer1/layer1.0/conv1/Conv
    assert names[:4] == ["conv1", "relu", "maxpool", "layer1"] and "layer1.layer1.0.conv1" in names
    assert report.name == "resnet50"  # the file's name, not the exporter's generic graph name


def test_external_data_is_never_opened(exported, tmp_path):
    import onnx

    from test_torch_bridge import pytorch_figures

    network, shape, path = exported("resnet18")
    model = onnx.load(str(path))
    moved = tmp_path / "external.onnx"
    onnx.save_model(model, str(moved), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin")
    (tmp_path / "weights.bin").unlink()  # convcalc reads sizes from the graph, never the weights
    report = analyze(read_onnx(moved))
    theirs = pytorch_figures(network, shape)
    assert (report.macs, report.output_shape) == (theirs["macs"], theirs["output_shape"])


def make_graph(nodes, initializers, shape=(1, 8, 6, 6)):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(model, tmp_path, name="g.onnx") -> Path:
    import onnx

    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def test_operators_one_by_one(tmp_path):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def floats(name, dims):
        return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * __import__("math").prod(dims))

    def int64s(name, values):
        return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),  # 8×6×6
        helper.make_node("Pad", ["c1", "pads"], ["p"], mode="reflect"),                                          # 8×8×8
        helper.make_node("Split", ["p", "split"], ["s1", "s2"], axis=1),                                         # 3 + 5 channels
        helper.make_node("Relu", ["s1"], ["r1"]),
        helper.make_node("Concat", ["r1", "s2"], ["cat"], axis=1),                                               # 8×8×8
        helper.make_node("Resize", ["cat", "", "", "sizes"], ["up"], mode="nearest"),                            # 8×16×16
        helper.make_node("Slice", ["up", "starts", "ends", "axes"], ["sl"]),                                     # channels 2..5: 4×16×16
        helper.make_node("GlobalAveragePool", ["sl"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w2"], ["mm"]),
        helper.make_node("Add", ["mm", "b2"], ["fc"]),                                                            # one linear layer, with bias
        helper.make_node("TopK", ["fc", "k"], ["top", "idx"]),                                                   # no formula: opaque
    ]
    inits = [floats("w1", [8, 8, 3, 3]), floats("b1", [8]), int64s("pads", [0, 0, 1, 1, 0, 0, 1, 1]), int64s("split", [3, 5]),
             int64s("sizes", [1, 8, 16, 16]), int64s("starts", [2]), int64s("ends", [6]), int64s("axes", [1]),
             floats("w2", [4, 10]), floats("b2", [10]), int64s("k", [3])]
    report = analyze(read_onnx(save(make_graph(nodes, inits), tmp_path)))
    kinds = [r.kind for r in report.leaves]
    assert kinds == ["conv", "pad", "slice", "slice", "relu", "concat", "resize", "slice", "global_avgpool", "flatten", "linear",
                     "opaque"]
    shapes = [r.output_shape for r in report.leaves]
    assert shapes[:9] == [(8, 6, 6), (8, 8, 8), (3, 8, 8), (5, 8, 8), (3, 8, 8), (8, 8, 8), (8, 16, 16), (4, 16, 16), (4, 1, 1)]
    assert report.params == 8 * 8 * 9 + 8 + 4 * 10 + 10
    assert report.macs == 8 * 8 * 9 * 36 + 4 * 10
    assert report.unknown_ops == ("TopK (shape assumed unchanged)",)


def test_channels_last_blocks_follow_their_transposes(tmp_path):
    """ConvNeXt's pattern: to channels last, a layer norm and a linear layer on the channels, back."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("LayerNormalization", ["t", "g", "b"], ["ln"], axis=-1),
             helper.make_node("MatMul", ["ln", "w"], ["mm"]),
             helper.make_node("Add", ["mm", "bias"], ["fc"]),
             helper.make_node("Transpose", ["fc"], ["out"], perm=[0, 3, 1, 2])]
    inits = [helper.make_tensor(n, TensorProto.FLOAT, d, [0.0] * __import__("math").prod(d))
             for n, d in (("g", [8]), ("b", [8]), ("w", [8, 32]), ("bias", [32]))]
    report = analyze(read_onnx(save(make_graph(nodes, inits), tmp_path)))
    assert [r.kind for r in report.leaves] == ["layernorm", "linear"]
    assert report.output_shape == (32, 6, 6)
    assert report.macs == 8 * 32 * 36 and report.params == 2 * 8 + 8 * 32 + 32


def test_element_wise_operators_keep_their_names(tmp_path):
    """Sub, Div and Pow between two activations are merges of their own kind (never an add or a multiply); a
    mean kept as 8×1×1 broadcasts; 0 MACs, as convcalc counts element-wise arithmetic."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceMean", ["x"], ["mean"], axes=[2, 3], keepdims=1),
             helper.make_node("Sub", ["x", "mean"], ["centred"]),
             helper.make_node("Div", ["centred", "x"], ["ratio"]),
             helper.make_node("Pow", ["ratio", "x"], ["out"])]
    report = analyze(read_onnx(save(make_graph(nodes, []), tmp_path)))
    assert [r.kind for r in report.leaves] == ["mean", "subtract", "divide", "power"]  # ReduceMean: a mean
    assert report.output_shape == (8, 6, 6) and report.macs == 0


HOSTILE = {
    "text.onnx": b"name: not onnx\n",
    "empty.onnx": b"",
    "truncated.onnx": b"\x3a\xff\xff\x03",
    "bad_wire.onnx": b"\x0f\x00",
    "deep_varint.onnx": b"\x08" + b"\xff" * 20,
    "no_graph.onnx": b"\x08\x07",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_file_that_is_not_onnx_is_one_error_line(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    with pytest.raises(SpecError):
        read_onnx(path)
    result = subprocess.run([sys.executable, "-m", "convcalc", "net", str(path)], capture_output=True, text=True, timeout=60,
                            env={"CONVCALC_LANG": "en", "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr


def small_model_bytes(kernel_shape=(3, 3)) -> bytes:
    """A small valid graph, written by hand in protobuf's wire format (no onnx package needed): Conv → Relu
    → GlobalAveragePool → Flatten → Gemm on a 1×3×8×8 input (`kernel_shape` as the Conv node declares it)."""

    def varint(v: int) -> bytes:
        out = b""
        while True:
            byte, v = v & 0x7F, v >> 7
            out += bytes([byte | (0x80 if v else 0)])
            if not v:
                return out

    def field(number: int, payload) -> bytes:
        if isinstance(payload, int):
            return varint(number << 3) + varint(payload)
        data = payload.encode() if isinstance(payload, str) else payload
        return varint(number << 3 | 2) + varint(len(data)) + data

    def ints_attr(name, values):
        return field(1, name) + b"".join(field(8, v) for v in values) + field(20, 7)

    def tensor(name, dims):
        return b"".join(field(1, d) for d in dims) + field(2, 1) + field(8, name) + field(9, bytes(4 * __import__("math").prod(dims)))

    def node(op, inputs, outputs, attrs=b""):
        return b"".join(field(1, i) for i in inputs) + b"".join(field(2, o) for o in outputs) + field(4, op) + attrs

    dims = b"".join(field(1, field(1, d)) for d in (1, 3, 8, 8))
    value_info = field(1, "x") + field(2, field(1, field(1, 1) + field(2, dims)))
    graph = (field(1, node("Conv", ["x", "w", "b"], ["c"], field(5, ints_attr("kernel_shape", list(kernel_shape))) + field(5, ints_attr("pads", [1, 1, 1, 1]))))
             + field(1, node("Relu", ["c"], ["r"])) + field(1, node("GlobalAveragePool", ["r"], ["g"]))
             + field(1, node("Flatten", ["g"], ["f"])) + field(1, node("Gemm", ["f", "fw", "fb"], ["y"], field(5, field(1, "transB") + field(3, 1) + field(20, 2))))
             + field(2, "g") + field(5, tensor("w", [4, 3, 3, 3])) + field(5, tensor("b", [4])) + field(5, tensor("fw", [5, 4]))
             + field(5, tensor("fb", [5])) + field(11, value_info) + field(12, field(1, "y")))
    return field(1, 8) + field(7, graph)


def test_the_hand_written_model_reads(tmp_path):
    path = tmp_path / "small.onnx"
    path.write_bytes(small_model_bytes())
    report = analyze(read_onnx(path))
    assert [r.kind for r in report.leaves] == ["conv", "relu", "global_avgpool", "flatten", "linear"]
    assert report.params == 4 * 27 + 4 + 5 * 4 + 5 and report.macs == 4 * 27 * 64 + 20 and report.output_shape == (5,)


def test_a_node_whose_attributes_disagree_with_its_weight_is_one_error(tmp_path):
    """kernel_shape 5×5 on a 3×3 weight: refused by name, not read as a 5×5 convolution."""
    path = tmp_path / "lie.onnx"
    path.write_bytes(small_model_bytes(kernel_shape=(5, 5)))
    with pytest.raises(SpecError, match=r"lie.onnx: Conv \(Conv\): .*kernel_shape \[5, 5\] disagrees with the weight's kernel \[3, 3\]"):
        read_onnx(path)


def test_a_fault_of_the_reader_keeps_its_traceback(tmp_path, monkeypatch):
    """Only a malformed node is reported as the file's fault; a mapper that fails on a well-formed node raises
    its own exception, so that a test sees the bug."""
    from convcalc.formats.onnxfile import Mapper

    def broken(self, node):
        raise AttributeError("a bug in the mapper")

    monkeypatch.setattr(Mapper, "op_Flatten", broken)
    path = tmp_path / "small.onnx"
    path.write_bytes(small_model_bytes())
    with pytest.raises(AttributeError, match="a bug in the mapper"):
        read_onnx(path)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcalc.core.errors import ConvcalcError  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzzed_onnx_bytes_give_a_network_or_one_clean_error(tmp_path_factory, data):
    """Bytes of a valid model flipped, cut, spliced or replaced: the reader and the walk either work or
    raise convcalc's own error (one line at the CLI), never anything else."""
    original = bytearray(small_model_bytes())
    action = data.draw(st.sampled_from(["flip", "cut", "splice", "random"]))
    if action == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(original)
    elif action == "cut":
        blob = bytes(original[:data.draw(st.integers(0, len(original)))])
    elif action == "splice":
        at = data.draw(st.integers(0, len(original)))
        blob = bytes(original[:at]) + data.draw(st.binary(max_size=64)) + bytes(original[at:])
    else:
        blob = data.draw(st.binary(max_size=512))
    path = tmp_path_factory.mktemp("fuzz") / "f.onnx"
    path.write_bytes(blob)
    try:
        analyze(read_onnx(path))
    except ConvcalcError:
        pass


def attention_graph(extra=None):
    """Self-attention as an exporter writes it, in the scope /attn: E = 8 channels, T = 6 positions, 2 heads of 4."""
    from onnx import TensorProto, helper

    def floats(name, dims):
        return helper.make_tensor(name, TensorProto.FLOAT, dims, [0.0] * __import__("math").prod(dims))

    def int64s(name, values):
        return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)

    def node(op, inputs, outputs, name, **attrs):
        return helper.make_node(op, inputs, outputs, name=f"/attn/{name}", **attrs)

    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1], name="/Transpose"),  # 8×6 → channels last
             *[node("MatMul", ["t", f"w{p}"], [p], f"MatMul_{p}") for p in "qkv"],
             *[node("Reshape", [p, "heads"], [f"{p}4"], f"Reshape_{p}") for p in "qkv"],  # 1×6×2×4
             node("Transpose", ["q4"], ["qh"], "Transpose_q", perm=[0, 2, 1, 3]),  # 1×2×6×4
             node("Transpose", ["k4"], ["kt"], "Transpose_k", perm=[0, 2, 3, 1]),  # 1×2×4×6
             node("Transpose", ["v4"], ["vh"], "Transpose_v", perm=[0, 2, 1, 3]),
             node("MatMul", ["qh", "kt"], ["scores"], "MatMul_scores"),  # 1×2×6×6: a product of two activations
             node("Softmax", ["scores"], ["weights"], "Softmax", axis=-1),
             node("MatMul", ["weights", "vh"], ["o"], "MatMul_values"),  # 1×2×6×4
             *(extra or []),
             node("Transpose", ["o"], ["o2"], "Transpose_o", perm=[0, 2, 1, 3]),
             node("Reshape", ["o2", "tokens"], ["o3"], "Reshape_o"),  # 1×6×8
             node("MatMul", ["o3", "wo"], ["out"], "MatMul_out")]
    inits = [floats(f"w{p}", [8, 8]) for p in "qkvo"] + [int64s("heads", [1, 6, 2, 4]), int64s("tokens", [1, 6, 8])]
    return make_graph(nodes, inits, shape=(1, 8, 6))


def test_attention_is_read_a_scope_at_a_time(tmp_path):
    """One subgraph row: 4·T·E² for the projections + 2·T²·E for the two products, as arithmetic."""
    pytest.importorskip("onnx")
    report = analyze(read_onnx(save(attention_graph(), tmp_path)))
    rows = [r for r in report.leaves if r.kind == "subgraph"]
    assert len(rows) == 2 and rows[0].output_shape == (8, 6)
    assert rows[1].name == "output" and rows[1].output_shape == (6, 8)  # the sequence as the model holds it, E last
    assert report.macs == 4 * 6 * 8 * 8 + 2 * 6 * 6 * 8 and report.params == 4 * 8 * 8
    assert not report.unknown_ops


def test_attention_with_an_operator_shapes_cannot_follow_is_read_node_by_node(tmp_path):
    """A region whose shapes cannot be inferred (an operator this reader does not know) is not read whole: its
    nodes are mapped one by one, the unknown ones listed — a network, never a traceback."""
    pytest.importorskip("onnx")
    from onnx import helper

    odd = helper.make_node("TopK", ["o", "top_k"], ["o_top", "o_idx"], name="/attn/TopK")
    model = attention_graph([odd])
    model.graph.initializer.append(helper.make_tensor("top_k", 7, [1], [2]))
    report = analyze(read_onnx(save(model, tmp_path)))
    assert not any(r.kind == "subgraph" and "MatMul" in r.layer.op for r in report.leaves) and report.unknown_ops
    assert "TopK (shape assumed unchanged)" in report.unknown_ops and not any("Reshape" in op for op in report.unknown_ops)
