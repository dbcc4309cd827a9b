"""`convcalc net` and `convcalc zoo` through CliRunner: exit codes, error text, the JSON contract."""

import json

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

runner = CliRunner()


def net(*args):
    return runner.invoke(app, ["net", *args])


def net_json(*args):
    result = net(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bundled_name_with_or_without_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # works from any directory
    assert net_json("vgg16.yaml")["total"]["params"] == net_json("vgg16")["total"]["params"]


def test_json_contract():
    data = net_json("resnet18")
    assert set(data) >= {"name", "input_shape", "output_shape", "layers", "total"}
    assert data["input_shape"] == [3, 224, 224] and data["output_shape"] == [1000]
    assert set(data["total"]) == {"params", "trainable_params", "frozen_params", "buffers", "macs", "flops", "param_bytes", "activation_bytes", "backward_macs",
                                  "training_step_macs", "course_activation_bytes", "saved_activation_bytes", "inference_peak_bytes", "training_bytes",
                                  "training"}
    layer = data["layers"][0]
    assert set(layer) >= {"name", "type", "input_shape", "output_shape", "params", "buffers", "macs", "flops",
                          "memory_bytes", "receptive_field", "saved_bytes", "backward_macs"}
    assert set(layer["receptive_field"]) >= {"size", "jump", "start", "full"}
    assert layer["name"] == "conv1" and layer["type"] == "conv"
    assert layer["output_shape"] == [64, 112, 112]
    assert layer["params"] == 64 * 3 * 7 * 7
    assert layer["memory_bytes"] == 64 * 112 * 112 * 4
    assert sum(x["params"] for x in data["layers"]) == data["total"]["params"]
    assert sum(x["memory_bytes"] for x in data["layers"]) == data["total"]["activation_bytes"]
    assert data["total"]["param_bytes"] == data["total"]["params"] * 4
    assert sum(x["saved_bytes"] for x in data["layers"]) == data["total"]["saved_activation_bytes"]
    assert sum(x["backward_macs"] for x in data["layers"]) == data["total"]["backward_macs"]
    assert any(x["name"].startswith("layer1.basic1.residual1.main.") for x in data["layers"])


def test_input_override_resizes_every_layer():
    data = net_json("resnet50", "--input", "3x160x160")
    assert data["input_shape"] == [3, 160, 160]
    assert data["layers"][0]["output_shape"] == [64, 80, 80]
    last_conv = [x for x in data["layers"] if x["type"] == "conv"][-1]
    assert last_conv["output_shape"] == [2048, 5, 5]


def test_batch_dtype_and_flops_per_mac():
    one = net_json("lenet5")["total"]
    four = net_json("lenet5", "--batch", "4", "--dtype", "fp16", "--flops-per-mac", "2")["total"]
    assert four["macs"] == 4 * one["macs"]
    assert four["flops"] == 2 * four["macs"]
    assert four["activation_bytes"] == one["activation_bytes"] * 4 // 2
    assert four["param_bytes"] == one["params"] * 2
    assert four["params"] == one["params"]


def test_table_collapses_deep_networks_and_states_the_convention():
    result = net("resnet152")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) < 120
    assert "collapsed" in result.stdout
    assert "one multiply-add counts as one FLOP" in " ".join(result.stdout.split())


def test_depth_zero_shows_top_level_rows():
    result = net("resnet50", "--depth", "0", "--format", "csv")
    rows = result.stdout.splitlines()[1:]
    assert [r.split(",")[0] for r in rows][:4] == ["conv1", "conv1.bn", "conv1.relu", "maxpool1"]
    assert "layer1" in [r.split(",")[0] for r in rows]
    assert not any(r.startswith("layer1.") for r in rows)


def test_explain_per_layer():
    result = net("lenet5", "--explain")
    assert "params = C_o·(C_i·K_h·K_w + 1) = 6·(1·5·5 + 1) = 156" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["nonexistent.yaml"], "Error: nonexistent.yaml: no such file, nor a bundled network of that name, got 'nonexistent.yaml' (convcalc zoo lists the bundled networks)"),
    (["resnet5"], "Error: resnet5: no such file, nor a bundled network of that name, got 'resnet5'; did you mean 'resnet50'?"),
    (["vgg16", "--input", "3x0x224"], "Error: --input: must be C×H×W (or F, C×L, C×D×H×W) with positive sizes, got '3x0x224'"),
    (["vgg16", "--input", "224"], "Error: --input: VGG-16 (configuration D) takes C×H×W (3 values, such as 3x224x224), got '224'"),
    (["vgg16", "--input", "224x224"], "Error: --input: VGG-16 (configuration D) takes C×H×W (3 values, such as 3x224x224), got '224x224'"),
    (["vgg16", "--input", "1x3x224x224"], "Error: --input: the batch is not part of the input; VGG-16 (configuration D) takes C×H×W: "
                                          "write --input 3x224x224 --batch 1, got '1x3x224x224'"),
    (["r3d_18", "--input", "8x3x16x112x112"], "Error: --input: the batch is not part of the input; R3D-18 takes C×D×H×W: "
                                              "write --input 3x16x112x112 --batch 8, got '8x3x16x112x112'"),
    (["vgg16", "--input", "3x16x16"], "Error: vgg16.yaml:13: blocks.stage.layers[1].maxpool: axis H: kernel larger than the padded input: "
     "effective kernel 2 > input 1 + padding 0, got size 1 (layer stage5.maxpool1, input 512×1×1)\n"),
])
def test_errors(args, message):
    result = net(*args, "--format", "json")
    assert result.exit_code != 0
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr


def test_bad_file_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {c: 8, k: 0}\n")
    result = net(str(bad))
    assert result.exit_code == 1
    assert result.stderr == "Error: bad.yaml:3: layers[0].conv.k: must be a positive integer, got 0 (layer conv1, input 3×8×8)\n"


def test_zoo_lists_every_bundled_network():
    result = runner.invoke(app, ["zoo", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema_version"] == 2
    entries = {e["name"]: e for e in data["networks"]}
    assert {"lenet5", "vgg16", "resnet50", "googlenet", "densenet121"} <= set(entries)
    assert entries["vgg16"]["source"] == "torchvision vgg16"
    table = runner.invoke(app, ["zoo"])
    assert table.exit_code == 0 and "resnet152" in table.stdout


def test_a_model_file_without_its_models_name_lists_what_it_defines(tmp_path, monkeypatch):
    """`convcalc net mynet.py` is not parsed as YAML: the classes and argument-free functions it defines are listed,
    read from its text (nothing run, no torch needed)."""
    path = tmp_path / "mynet.py"
    path.write_text("import torch\n\nclass Net(torch.nn.Module):\n    pass\n\ndef build():\n    return Net()\n\n"
                    "def make(width):\n    return Net()\n\ndef _helper():\n    pass\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["net", "mynet.py"], env={"CONVCALC_LANG": "en"})
    assert result.exit_code == 2
    assert result.stderr == "Error: mynet.py: name the model to read, such as mynet.py:Net; the file defines Net, build, got 'mynet.py'\n"


def test_a_torchvision_model_without_input_is_refused_before_torch_loads():
    """torchvision's models declare no input: said at once, without importing torch (here made unimportable)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; from convcalc.cli import main; "
            "sys.argv = ['convcalc', 'net', 'torchvision.models:resnet50']; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={"CONVCALC_LANG": "en"})
    assert result.returncode == 2 and result.stderr == (
        "Error: --input: a PyTorch model needs its input shape, such as --input 3x224x224, got none\n")
