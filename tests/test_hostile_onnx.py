"""Hostile ONNX files (tests/hostile/onnx_files.py makes them with the `onnx` package), replayed as a user
runs them, each in its own process under the 200 MB limit of test_hostile.py, in English and Chinese: a
result whose figures are the file's own, or exactly one `Error:` line naming the node. Then: a file cut
while it is read, external data whose location climbs out of the folder, and a fuzz of valid graphs with
one part changed, judged against ONNX's own checker and shape inference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_hostile import TIMEOUT, one_clean_line, run  # noqa: E402

onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from hostile.onnx_files import build, large, write

    folder = tmp_path_factory.mktemp("onnx")
    write(folder, {**build(), **large()})
    return folder


# file → a piece of the one error line it must end in
REFUSED = {
    "kernel_shape_lies.onnx": "conv (Conv): its attributes or inputs are not what the ONNX operator takes (kernel_shape [5, 5] "
                              "disagrees with the weight's kernel [3, 3])",
    "weight_channels_lie.onnx": "conv (Conv): weight W reads 5 input channels, the input has 3, got [8, 5, 3, 3]",
    "groups_lie.onnx": "conv (Conv): weight W reads 6 input channels (3 per group × 2 groups), the input has 3, got [8, 3, 3, 3]",
    "gemm_declared_huge.onnx": f"tensor B is [1099511627776, 1099511627776] ({2**80:,} values) but its data holds {192 * 10:,}",
    "gemm_features_lie.onnx": "fc (Gemm): weight B does not read the input's 192 features, got [100, 10]",
    "data_shorter_than_dims.onnx": f"tensor W is [8, 3, 3, 3] ({8 * 3 * 3 * 3} values) but its data holds 100",
    "reads_its_own_output.onnx": "loop (Add): reads y before the node that writes it (ONNX lists nodes in order, with no cycle), got 'y'",
    "reads_a_later_output.onnx": "early (Add): reads b before the node that writes it",
    "unsqueeze_axes.onnx": "many (Unsqueeze): input axes holds 100,000 values, where one or two per axis are read (a tensor has at most 32 axes)",
    "int64_data_10m.onnx": "reshape (Reshape): input shape holds 10,000,000 values",
    "chain_1m.onnx": "the graph holds 1,000,000 nodes, more than 50,000, beyond the budget",
    "chain_100k.onnx": "the graph holds 100,000 nodes, more than 50,000, beyond the budget",
}
# file → (output shape, parameters) of the result: ONNX's shape inference and the file's initializers, as arithmetic
READ = {
    "ends_in_reshape.onnx": ([8 * 30 * 30], 8 * 3 * 3 * 3),
    "ends_in_squeeze.onnx": ([3], 0),
    "ends_in_transpose.onnx": ([30, 30, 8], 8 * 3 * 3 * 3),  # ONNX: [1, 30, 30, 8]
    "opset1_reshape.onnx": ([3 * 32 * 32], 0),
    "opset11_squeeze.onnx": ([3], 0),
    "conv_in_custom_domain.onnx": ([3, 32, 32], 8 * 3 * 3 * 3),  # an opaque operator of com.example: its shape is not known
    "resize_scales.onnx": ([3, 32, 32], 0),  # Resize's scales are not parameters (its cubic mode is opaque here)
    "mul_chain.onnx": ([3, 32, 32], 0),  # constants too large to fold: the Reshape is opaque
    "pow_huge.onnx": ([3, 32, 32], 0),
    "concat_chain.onnx": ([3, 32, 32], 0),
    "control_names.onnx": ([8, 30, 30], 8 * 3 * 3 * 3),
    "chain_50k.onnx": ([3, 32, 32], 0),
    "float_data_48mb.onnx": ([3, 32, 4096], 3 * 4096 * 1024),
}


def test_every_file_has_an_expectation():
    from hostile.onnx_files import build, large

    assert sorted({**build(), **large()}) == sorted({**REFUSED, **READ})


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(corpus, name):
    code, out, err, _ = run(["net", str(corpus / name)])
    one_clean_line(code, out, err)
    assert REFUSED[name] in err


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_in_chinese(corpus, name):
    code, out, err, _ = run(["net", str(corpus / name), "--lang", "zh"])
    assert code != 0 and out == "" and err.count("\n") == 1 and len(err.rstrip("\n")) <= 300, err
    assert err.startswith("错误：") and "实际" in err and "Traceback" not in err, err


@pytest.mark.parametrize("name", sorted(READ))
def test_read(corpus, name):
    code, out, err, _ = run(["net", str(corpus / name), "--format", "json"])
    assert code == 0 and err == "", err
    shape, params = READ[name]
    report = json.loads(out)
    assert (report["output_shape"], report["total"]["params"]) == (shape, params)


def test_custom_domain_is_named_with_its_domain(corpus):
    code, out, err, _ = run(["net", str(corpus / "conv_in_custom_domain.onnx"), "--format", "json"])
    assert code == 0 and json.loads(out)["layers"][0]["type"] == "opaque" and "com.example.Conv" in out


CUT_WHILE_READ = """
import os, sys
from convcalc.formats import onnxfile
path = sys.argv[1]
read_graph = onnxfile.Graph.__init__
def cut_then_read(self, source):
    os.truncate(path, 2000)  # another program cuts the file after it is opened and measured
    read_graph(self, source)
onnxfile.Graph.__init__ = cut_then_read
sys.argv = ["convcalc", "net", path]
from convcalc.cli import main
main()
"""


def test_a_file_cut_while_it_is_read_is_an_error_not_a_signal(corpus, tmp_path):
    path = tmp_path / "cut.onnx"
    path.write_bytes((corpus / "float_data_48mb.onnx").read_bytes())
    process = subprocess.run([sys.executable, "-c", CUT_WHILE_READ, str(path)], capture_output=True, timeout=TIMEOUT)
    err = process.stderr.decode()
    one_clean_line(process.returncode, process.stdout.decode(), err)
    assert "the file changed while it was read" in err or "the file ends inside a field" in err


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "sub/../../weights.bin", "/dev/zero"])
def test_external_data_is_never_opened_wherever_it_points(tmp_path, location):
    """An audit hook records every file the reader opens: only the model itself, whatever the location says."""
    from onnx import TensorProto, helper

    from convcalc import analyze
    from convcalc.formats.onnxfile import read_onnx

    weight = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[8, 3, 3, 3])
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"], name="conv")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    path = tmp_path / "external.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    opened = []
    sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" and args and isinstance(args[0], (str, Path)) else None)
    opened.clear()
    report = analyze(read_onnx(path))
    seen = list(opened)
    assert report.params == 8 * 3 * 3 * 3 and report.output_shape == (8, 6, 6)
    assert [p for p in seen if not p.endswith(".mo") and not p.endswith(".py") and not p.endswith(".pyc")] == [str(path)]


# --- a fuzz of valid graphs with one part changed ----------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

# (node index, attribute) → values to try; initializer → dims to try; node inputs rewired
ATTRIBUTES = [(0, "kernel_shape", [[3, 3], [5, 5], [3], [1, 1], [0, 3]]), (0, "strides", [[1, 1], [2, 2], [0, 1], [1], [40, 40]]),
              (0, "pads", [[1, 1, 1, 1], [0, 0, 0, 0], [1, 1], [-1, 0, 0, 0], [9, 9, 9, 9]]), (0, "group", [1, 2, 4, 0, -1]),
              (0, "dilations", [[1, 1], [2, 2], [0, 0], [20, 20]]), (2, "kernel_shape", [[2, 2], [3, 3], [40, 40], [0, 2]]),
              (4, "transB", [0, 1])]
DIMS = {"W": [[8, 3, 3, 3], [8, 4, 3, 3], [8, 1, 3, 3], [8, 3, 5, 5], [8, 3], [0, 3, 3, 3]],
        "B": [[10, 8 * 3 * 3], [8 * 3 * 3, 10], [10, 7], [10, 72, 1]], "bias": [[8], [4], [16]]}


def small_network(changes: dict):
    """Conv (bias) → Relu → MaxPool → Flatten → Gemm, on 3×8×8, with `changes` applied."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def tensor(name, dims):
        return numpy_helper.from_array(np.ones([max(d, 0) for d in dims], np.float32), name)

    nodes = [helper.make_node("Conv", ["x", "W", "bias"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "B"], ["y"], name="fc", transB=1)]
    dims = {"W": [8, 3, 3, 3], "bias": [8], "B": [10, 8 * 4 * 4]}
    for (index, attribute), value in changes.get("attrs", {}).items():
        kept = [a for a in nodes[index].attribute if a.name != attribute]
        del nodes[index].attribute[:]
        nodes[index].attribute.extend([*kept, helper.make_attribute(attribute, value)])
    dims.update(changes.get("dims", {}))
    if "rewire" in changes:
        index, position, name = changes["rewire"]
        nodes[index].input[position] = name
    if "domain" in changes:
        nodes[changes["domain"]].domain = "com.example"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_empty_tensor_value_info("y")], [tensor(n, d) for n, d in dims.items()])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.example", 1)] if "domain" in changes else [])
    return helper.make_model(graph, opset_imports=opsets)


CHANGES = st.one_of(
    st.sampled_from(ATTRIBUTES).flatmap(lambda a: st.sampled_from(a[2]).map(lambda v: {"attrs": {(a[0], a[1]): v}})),
    st.sampled_from(sorted(DIMS)).flatmap(lambda n: st.sampled_from(DIMS[n]).map(lambda d: {"dims": {n: d}})),
    st.tuples(st.integers(0, 4), st.just(0), st.sampled_from(["x", "c", "r", "p", "f", "y", "nowhere", "W"])).map(lambda r: {"rewire": r}),
    st.integers(0, 4).map(lambda i: {"domain": i}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES)
def test_one_part_changed(tmp_path, changes):
    """ONNX judges the changed file: its checker, strict shape inference, and its reference implementation
    run on zeros. A file ONNX runs is read, with the output shape ONNX computed. Any file convcalc reads
    has the file's own parameters (every initializer of this network is a weight); any it refuses is one
    line — a fault of the reader would surface as an exception of another kind."""
    import warnings

    import numpy as np
    from onnx import checker, shape_inference
    from onnx.reference import ReferenceEvaluator

    from convcalc import analyze
    from convcalc.core.errors import ConvcalcError
    from convcalc.formats.onnxfile import read_onnx

    model = small_network(changes)
    path = tmp_path / "changed.onnx"
    path.write_bytes(model.SerializeToString())
    try:
        checker.check_model(shape_inference.infer_shapes(model, strict_mode=True), full_check=True)  # inference types the output
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = ReferenceEvaluator(model).run(None, {"x": np.zeros((1, 3, 8, 8), np.float32)})[0].shape[1:]
    except Exception:  # noqa: BLE001 — whatever ONNX raises, it does not run the file
        output = None
    try:
        report = analyze(read_onnx(path))
    except ConvcalcError as error:
        assert output is None, f"refused a file ONNX runs: {error}"
        assert "\n" not in str(error) and ", got " in str(error)
        return
    assert report.params == sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    if output is not None:
        assert report.output_shape == tuple(output)
