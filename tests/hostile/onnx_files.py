"""The hostile ONNX corpus, made with the `onnx` package (so every run rebuilds it): name → bytes.

Each file is a small valid model with one part changed — a weight that disagrees with its node, a
graph that loops, a constant that explodes when folded, a name that attacks the terminal — or a
model too large to read in the budget. `python tests/hostile/onnx_files.py FOLDER` writes them.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT


def tensor(name, dims, values=None, dtype=np.float32):
    values = np.zeros(dims, dtype) if values is None else np.asarray(values, dtype).reshape(dims)
    return numpy_helper.from_array(values, name)


def model(nodes, initializers=(), input_shape=(1, 3, 32, 32), output="y", opset=17, output_shape=None, inputs=None, domains=()):
    graph = helper.make_graph(
        list(nodes), "hostile",
        inputs or [helper.make_tensor_value_info("x", FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(output, FLOAT, output_shape)],
        initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains)]
    made = helper.make_model(graph, opset_imports=opsets)
    made.ir_version = 8
    return made.SerializeToString()


def conv(name="conv", x="x", y="y", weight="W", **attrs):
    return helper.make_node("Conv", [x, weight], [y], name=name, **attrs)


def lying_dims(name, dims, real_count):
    """An initializer whose declared dims hold far more values than its data."""
    t = TensorProto(name=name, data_type=FLOAT, dims=list(dims))
    t.raw_data = np.zeros(real_count, np.float32).tobytes()
    return t


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append(value & 0x7F | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def field(number: int, data: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(data)) + data


def chain(op: str, count: int) -> bytes:
    """A model of `count` nodes of `op`, one after another, from x to y — its bytes written field by field
    (a million NodeProto objects would take gigabytes to build)."""
    names = ["x", *(f"t{i}" for i in range(1, count)), "y"]
    kind = field(4, op.encode())
    nodes = b"".join(field(1, field(1, names[i].encode()) + field(2, names[i + 1].encode()) + field(3, f"n{i}".encode()) + kind)
                     for i in range(count))
    frame = onnx.ModelProto.FromString(model([]))  # the same inputs, outputs and opsets as the other files, no nodes
    graph = nodes + frame.graph.SerializeToString()
    frame.ClearField("graph")
    return frame.SerializeToString() + field(7, graph)


def folding(op, count, first):
    """A constant combined with itself `count` times (c1 = op(c0, c0), …), then used as a Reshape's shape."""
    nodes = [helper.make_node("Constant", [], ["c0"], value=first)]
    nodes += [helper.make_node(op, [f"c{i}", f"c{i}"], [f"c{i + 1}"], name=f"fold{i}", **({"axis": 0} if op == "Concat" else {}))
              for i in range(count)]
    nodes.append(helper.make_node("Reshape", ["x", f"c{count}"], ["y"], name="reshape"))
    return model(nodes)


def ints(name, values):
    return tensor(name, [len(values)], values, np.int64)


def small_conv(**attrs):
    return model([conv(**attrs)], [tensor("W", [8, 3, 3, 3])])


def build() -> dict[str, bytes]:
    w8 = tensor("W", [8, 3, 3, 3])
    files = {
        # --- parts that disagree -------------------------------------------------------------
        "kernel_shape_lies.onnx": small_conv(kernel_shape=[5, 5]),
        "weight_channels_lie.onnx": model([conv()], [tensor("W", [8, 5, 3, 3])]),
        "groups_lie.onnx": model([conv(group=2)], [tensor("W", [8, 3, 3, 3])]),
        "gemm_declared_huge.onnx": model([helper.make_node("Gemm", ["x", "B"], ["y"], name="fc")], [lying_dims("B", [2**40, 2**40], 192 * 10)],
                                         input_shape=(1, 192)),
        "gemm_features_lie.onnx": model([helper.make_node("Gemm", ["x", "B"], ["y"], name="fc")], [tensor("B", [100, 10])],
                                        input_shape=(1, 192)),
        "data_shorter_than_dims.onnx": model([conv()], [lying_dims("W", [8, 3, 3, 3], 100)]),
        "reads_its_own_output.onnx": model([helper.make_node("Relu", ["x"], ["a"], name="first"),
                                            helper.make_node("Add", ["a", "y"], ["y"], name="loop")]),
        "reads_a_later_output.onnx": model([helper.make_node("Add", ["x", "b"], ["a"], name="early"),
                                            helper.make_node("Relu", ["a"], ["b"], name="late"),
                                            helper.make_node("Relu", ["b"], ["y"], name="out")]),
        "conv_in_custom_domain.onnx": model([helper.make_node("Conv", ["x", "W"], ["y"], name="custom", domain="com.example")], [w8],
                                            domains=["com.example"]),
        "resize_scales.onnx": model([helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode="cubic")],
                                    [tensor("scales", [4], [1, 1, 2, 2])]),
        "ends_in_reshape.onnx": model([conv(y="c"), helper.make_node("Reshape", ["c", "shape"], ["y"], name="flat")],
                                      [w8, ints("shape", [1, -1])]),
        "ends_in_squeeze.onnx": model([helper.make_node("GlobalAveragePool", ["x"], ["p"], name="pool"),
                                       helper.make_node("Squeeze", ["p", "axes"], ["y"], name="squeeze")], [ints("axes", [2, 3])]),
        "ends_in_transpose.onnx": model([conv(y="c"), helper.make_node("Transpose", ["c"], ["y"], name="t", perm=[0, 2, 3, 1])], [w8]),
        "opset1_reshape.onnx": model([helper.make_node("Reshape", ["x"], ["y"], name="flat", shape=[1, 3072])], opset=1),
        "opset11_squeeze.onnx": model([helper.make_node("GlobalAveragePool", ["x"], ["p"], name="pool"),
                                       helper.make_node("Squeeze", ["p"], ["y"], name="squeeze", axes=[2, 3])], opset=11),
        # --- files that explode ------------------------------------------------------------
        "mul_chain.onnx": folding("Mul", 40, ints("c0", [3])),
        "pow_huge.onnx": model([helper.make_node("Pow", ["ten", "exponent"], ["c"], name="pow"),
                                helper.make_node("Reshape", ["x", "c"], ["y"], name="reshape")],
                               [ints("ten", [10]), ints("exponent", [10**18])]),
        "concat_chain.onnx": folding("Concat", 40, ints("c0", [1])),
        "unsqueeze_axes.onnx": model([helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="many")],
                                     [ints("axes", list(range(100_000)))]),
        # --- names that attack the terminal ------------------------------------------------
        "control_names.onnx": model([conv(name="a\x00b\x1b[2Jc\x07d\u202ee", y="c"),
                                     helper.make_node("Resize", ["c", "", "scales"], ["y"], name="\x1b]0;title\x07", mode="cubic")],
                                    [w8, tensor("scales", [4], [1, 1, 2, 2])]),
    }
    return files


def large() -> dict[str, bytes]:
    """The files that test the budgets' linear time and memory (a few megabytes each)."""
    float_data = packed(TensorProto(name="W", data_type=FLOAT, dims=[3, 4096, 1024]), 4,
                        np.zeros(3 * 4096 * 1024, np.float32).tobytes())  # as make_tensor writes it: 48 MB
    int64_data = packed(TensorProto(name="shape", data_type=TensorProto.INT64, dims=[10**7]), 7, b"\x01" * 10**7)  # 10^7 varints
    return {
        "chain_50k.onnx": chain("Relu", 50_000),  # at the budget
        "chain_100k.onnx": chain("Relu", 100_000),
        "chain_1m.onnx": chain("Relu", 1_000_000),
        "float_data_48mb.onnx": model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], [float_data], input_shape=(1, 3, 32, 4096)),
        "int64_data_10m.onnx": model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")], [int64_data]),
    }


def packed(tensor: TensorProto, number: int, data: bytes) -> TensorProto:
    """`tensor` with a packed repeated field of `data` (its wire bytes), parsed rather than appended value
    by value (which would take gigabytes for tens of millions of values)."""
    tensor.MergeFromString(field(number, data))
    return tensor


def write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    write(Path(sys.argv[1]), {**build(), **large()})
    print(onnx.__version__)
