"""PyTorch models read by running them (convcalc/formats/torchrun.py): every figure against PyTorch itself —
parameters and buffers `sum(numel())`, MACs PyTorch's own FLOP counter (torch.utils.flop_counter) halved,
the output shape a forward pass's. torchvision's classifiers, segmentation and video models, timm's families
(one architecture each; the whole sweep is benchmarks/timm_sweep.py), Ultralytics' YOLO, a detection model
that reads values (run on the CPU), and models torch.fx cannot trace."""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from convcalc import analyze  # noqa: E402
from convcalc.formats.pytorch import read_model  # noqa: E402
from convcalc.formats.torchrun import read_running  # noqa: E402


def counter_figures(model, shape, inputs=None) -> dict:
    """What PyTorch says: its own FLOP counter over one forward pass (meta input unless `inputs` are given)."""
    import copy

    model = copy.deepcopy(model).eval()  # its own copy: requires_grad is switched off below, not on the model read
    for p in model.parameters():  # PyTorch's module tracker refuses a parameter passed into a module (PiT's position
        p.requires_grad_(False)  # embedding) while it requires grad: the counts do not depend on it
    inputs = inputs or [torch.empty(1, *shape, device="meta")]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(*inputs)
    out = out["out"] if isinstance(out, dict) and "out" in out else out
    first = out if isinstance(out, torch.Tensor) else None
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return {"params": sum(p.numel() for p in model.parameters()), "buffers": sum(b.numel() for b in model.buffers()),
            "macs": flops // 2, "output_shape": tuple(first.shape[1:]) if first is not None else None}


def running_figures(model, shape) -> tuple[dict, object]:
    network, outputs = read_running(torch, model, shape, type(model).__name__)
    report = analyze(network)
    return {"params": report.params, "buffers": report.buffers, "macs": report.macs,
            "output_shape": report.output_shape}, report


def on_meta(build):
    try:
        with torch.device("meta"):
            return build()
    except Exception:  # RegNet computes its widths with tensors, which meta tensors cannot give back
        return build().to("meta")


def exact(model, shape):
    theirs = counter_figures(model, shape)
    ours, report = running_figures(model, shape)
    if theirs["output_shape"] is None:
        ours["output_shape"] = None
    assert ours == theirs
    assert not report.unknown_ops


SLOW = {"regnet_y_128gf", "vit_h_14", "regnet_y_32gf", "vit_l_16", "vit_l_32", "regnet_y_16gf"}


def torchvision_models(module) -> list[str]:
    return [n for n in torchvision.models.list_models(module=module) if n not in SLOW]


@pytest.mark.parametrize("name", torchvision_models(torchvision.models))
def test_torchvision_classifiers_equal_pytorchs_counter(name):
    kwargs = {"aux_logits": False, "init_weights": False} if name in ("googlenet", "inception_v3") else {}
    model = on_meta(lambda: torchvision.models.get_model(name, **kwargs))
    exact(model, (3, 299, 299) if name == "inception_v3" else (3, 224, 224))


@pytest.mark.parametrize("name", torchvision_models(torchvision.models.segmentation))
def test_torchvision_segmentation_equals_pytorchs_counter(name):
    model = on_meta(lambda: torchvision.models.get_model(name, weights=None, weights_backbone=None))
    exact(model, (3, 224, 160))


@pytest.mark.parametrize("name", torchvision_models(torchvision.models.video))
def test_torchvision_video_equals_pytorchs_counter(name):
    model = on_meta(lambda: torchvision.models.get_model(name))
    exact(model, (3, 16, 224, 224) if name.startswith(("mvit", "s3d", "swin3d")) else (3, 8, 112, 112))


# one architecture of each timm family torch.fx cannot trace or reads only in part (the sweep of every
# family, benchmarks/timm_sweep.py, keeps its results in benchmarks/results/timm_sweep.txt)
TIMM = ["vgg11", "vgg16_bn", "tf_efficientnet_b0", "mobilevit_xxs", "efficientvit_b0", "dm_nfnet_f0", "nf_resnet26",
        "resnetblur18", "resnetv2_50x1_bit", "tresnet_m", "densenetblur121d", "convnext_zepto_rms", "coat_tiny", "levit_128s",
        "caformer_s18", "maxvit_pico_rw_256", "mambaout_femto", "gcresnet33ts", "halonet26t", "tiny_vit_5m_224",
        "maxvit_tiny_tf_224", "swin_tiny_patch4_window7_224", "deit_tiny_patch16_224", "poolformer_s12", "mixer_s16_224",
        "xcit_nano_12_p16_224", "pit_ti_224", "cait_xxs24_224", "crossvit_tiny_240", "regnetx_002", "ghostnet_100",
        "repvgg_a0", "rexnet_100", "hrnet_w18_small", "botnet26t_256", "lambda_resnet26t", "edgenext_xx_small"]


@pytest.mark.parametrize("name", TIMM)
def test_timm_families_equal_pytorchs_counter(name):
    timm = pytest.importorskip("timm")
    model = on_meta(lambda: timm.create_model(name, pretrained=False))
    exact(model, tuple(model.default_cfg["input_size"]))


@pytest.mark.parametrize("config", ["yolov8n.yaml", "yolo11n.yaml"])
def test_ultralytics_yolo_built_by_ultralytics(config, tmp_path):
    """Ultralytics' own DetectionModel (it prints its layer table while it is built: to standard error)."""
    pytest.importorskip("ultralytics")
    from ultralytics.nn.tasks import DetectionModel

    module = tmp_path / "yolo.py"
    module.write_text(f"from ultralytics.nn.tasks import DetectionModel\n\n\ndef build():\n    return DetectionModel({config!r})\n")
    report = analyze(read_model(f"{module}:build", (3, 640, 640)))
    model = DetectionModel(config, verbose=False)  # its forward reads values (.item()): on the CPU, as convcalc runs it
    theirs = counter_figures(model, (3, 640, 640), [torch.zeros(1, 3, 640, 640)])
    assert (report.params, report.buffers, report.macs) == (theirs["params"], theirs["buffers"], theirs["macs"])
    assert report.frozen_params == sum(p.numel() for p in model.parameters() if not p.requires_grad)  # the DFL's fixed conv
    assert not report.unknown_ops
    # every tensor it returns is listed: first the predictions, 4 box coordinates + 80 classes at 80² + 40² + 20² anchors
    assert len(report.outputs) > 1 and report.outputs[0] == (4 + 80, 80 * 80 + 40 * 40 + 20 * 20)


def test_a_detection_model_that_reads_values_runs_on_the_cpu(tmp_path):
    """Faster R-CNN's proposals come from non-maximum suppression: the meta device has no values, so the model runs on
    the CPU with random weights and input (seeded: the same figures every run), within the 2 GB budget."""
    module = tmp_path / "detector.py"
    module.write_text("import torchvision\n\n\ndef build():\n    return torchvision.models.detection."
                      "fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)\n")
    report = analyze(read_model(f"{module}:build", (3, 320, 320)))
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
    torch.manual_seed(0)
    theirs = counter_figures(model, (3, 320, 320), [torch.randn(1, 3, 320, 320)])
    assert (report.params, report.buffers, report.macs) == (theirs["params"], theirs["buffers"], theirs["macs"])
    assert not report.unknown_ops


def conv_model(tmp_path, forward: str) -> str:
    """A file holding a one-convolution Net whose forward(x) is `forward`; its target."""
    path = tmp_path / "net.py"
    body = textwrap.indent(textwrap.dedent(forward).strip(), " " * 8)
    path.write_text("from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                    f"        self.conv = nn.Conv2d(3, 4, 3)\n\n    def forward(self, x):\n{body}\n")
    return f"{path}:Net"


def test_a_model_torch_fx_cannot_trace_is_read_by_running_it(tmp_path):
    """Control flow on values: fx refuses it; running it on the CPU (the meta device has no values) reads it."""
    target = conv_model(tmp_path, """
        if x.abs().sum() >= 0:
            return self.conv(x)
        return x
    """)
    report = analyze(read_model(target, (3, 8, 8)))
    assert [r.kind for r in report.leaves] == ["conv"]  # the test that decides the branch is not a row
    assert (report.params, report.macs, report.output_shape) == (4 * (3 * 9 + 1), 4 * 3 * 9 * 6 * 6, (4, 6, 6))


def test_a_model_that_fails_on_every_device_is_one_error(tmp_path):
    """A forward that raises whatever it is given (the model's own error, not a tracing problem): one error naming it."""
    from convcalc.core.errors import ConvcalcError

    target = conv_model(tmp_path, 'raise RuntimeError("this model is not finished")')
    with pytest.raises(ConvcalcError, match="does not run on an input of 3×8×8: .*RuntimeError: this model is not finished"):
        read_model(target, (3, 8, 8))


def test_same_padding_and_frozen_weights(tmp_path):
    """A functional convolution with padding='same' (what fx's graph met as a string) and ResNet-18 with every
    parameter but fc's frozen: 513,000 trainable, as torchinfo says."""
    path = tmp_path / "models.py"
    path.write_text(textwrap.dedent("""
        import torch
        import torch.nn.functional as F
        import torchvision
        from torch import nn

        class Same(nn.Module):
            def __init__(self):
                super().__init__()
                self.weight = nn.Parameter(torch.zeros(8, 3, 4, 4))

            def forward(self, x):
                return F.conv2d(x, self.weight, padding="same")

        def frozen():
            model = torchvision.models.resnet18()
            for name, p in model.named_parameters():
                p.requires_grad = name.startswith("fc.")
            return model
    """))
    same = analyze(read_model(f"{path}:Same", (3, 9, 9)))
    assert (same.output_shape, same.params, same.macs) == ((8, 9, 9), 8 * 3 * 16, 8 * 3 * 16 * 81)
    frozen = analyze(read_model(f"{path}:frozen", (3, 224, 224)))
    assert frozen.trainable_params == 512 * 1000 + 1000 and frozen.params == 11_689_512
    assert frozen.training.optimizer_state == 2 * 4 * (512 * 1000 + 1000)  # adam: two float32 values per trainable weight


def thop_count(report) -> int:
    from convcalc.core.counting import count

    return sum(count("thop", row, report.settings.batch) for row in report.leaves)


# (MobileNetV2 and DenseNet pool with F.adaptive_avg_pool2d, a function thop does not count and a row cannot tell
# from nn.AdaptiveAvgPool2d: their counts differ by that pooling's, as the counting rules say)
@pytest.mark.parametrize("name", ["resnet18", "vgg11", "efficientnet_b0", "squeezenet1_0", "googlenet", "convnext_tiny",
                                  "vit_b_16"])
def test_count_thop_equals_thop_itself(name):
    """--count thop against ultralytics-thop's own profile of the same model (installed with Ultralytics)."""
    thop = pytest.importorskip("thop")
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = torchvision.models.get_model(name, **kwargs).eval()
    report = analyze(read_model(f"torchvision.models:{name}", (3, 224, 224)) if not kwargs else
                     read_running(torch, on_meta(lambda: torchvision.models.get_model(name, **kwargs)), (3, 224, 224), name)[0])
    theirs, _params = thop.profile(model, inputs=(torch.zeros(1, 3, 224, 224),), verbose=False)
    assert thop_count(report) == int(theirs)


@pytest.mark.parametrize("config, printed", [("yolov8n.yaml", 8.9), ("yolo11n.yaml", 6.7)])
def test_count_thop_gives_the_gflops_ultralytics_prints(config, printed, tmp_path):
    """Ultralytics' summary line says 8.9 GFLOPs for YOLOv8n and 6.7 for YOLO11n: thop's count × 2, at 640."""
    thop = pytest.importorskip("thop")
    pytest.importorskip("ultralytics")
    import copy

    from ultralytics.nn.tasks import DetectionModel

    module = tmp_path / "yolo.py"
    module.write_text(f"from ultralytics.nn.tasks import DetectionModel\n\n\ndef build():\n    return DetectionModel({config!r})\n")
    counted = thop_count(analyze(read_model(f"{module}:build", (3, 640, 640))))
    model = DetectionModel(config, verbose=False).eval()
    theirs, _params = thop.profile(copy.deepcopy(model), inputs=(torch.zeros(1, 3, 640, 640),), verbose=False)
    assert counted == int(theirs)
    assert round(counted * 2 / 1e9, 1) == printed


@pytest.mark.parametrize("name", ["ViT", "ConvNext", "Swin"])
def test_hugging_face_vision_models_built_from_a_config(name, tmp_path):
    """A Hugging Face model built offline from its config: the input its config declares (num_channels, image_size),
    every figure PyTorch's own."""
    transformers = pytest.importorskip("transformers")
    module = tmp_path / "hf.py"
    module.write_text(f"import transformers\n\n\ndef build():\n    return transformers.{name}ForImageClassification("
                      f"transformers.{name}Config())\n")
    network = read_model(f"{module}:build", None)
    report = analyze(network)
    config = getattr(transformers, f"{name}Config")()
    assert network.input_shape == (config.num_channels, config.image_size, config.image_size)
    model = on_meta(lambda: getattr(transformers, f"{name}ForImageClassification")(config))
    theirs = counter_figures(model, network.input_shape)
    assert (report.params, report.buffers, report.macs) == (theirs["params"], theirs["buffers"], theirs["macs"])
    assert not report.unknown_ops


# models with a broadcast add (GC blocks), unfolded windows, a buffer registered by the forward: read as the
# command line reads them
def model_file(tmp_path, expression: str) -> str:
    """A two-line model file, as a user writes one: `build()` returns `expression`; its target."""
    module = tmp_path / "model_file.py"
    module.write_text(f"import timm\n\n\ndef build():\n    return {expression}\n")
    return f"{module}:build"


@pytest.mark.parametrize("name", ["gcresnet33ts", "halonet26t", "convit_tiny", "edgenext_xx_small", "visformer_tiny"])
def test_broadcasts_windows_and_buffers_made_by_the_forward(name, tmp_path):
    timm = pytest.importorskip("timm")
    network = read_model(model_file(tmp_path, f"timm.create_model({name!r}, pretrained=False)"), None)
    report, model = analyze(network), on_meta(lambda: timm.create_model(name, pretrained=False))
    theirs = counter_figures(model, network.input_shape)
    assert (report.params, report.buffers, report.macs) == (theirs["params"], theirs["buffers"], theirs["macs"])
    assert not report.unknown_ops


def test_x_mean_is_read_as_a_mean_which_fvcore_does_not_count():
    """ShuffleNetV2 pools with x.mean([2, 3]): a `mean` row, so --count fvcore follows fvcore, which skips aten::mean
    (checked against fvcore itself where it is installed)."""
    from convcalc.core.counting import count

    report = analyze(read_model("torchvision.models:shufflenet_v2_x0_5", (3, 224, 224)))
    kinds = [r.kind for r in report.leaves]
    assert "mean" in kinds and "global_avgpool" not in kinds
    fvcore = pytest.importorskip("fvcore.nn")
    analysis = fvcore.FlopCountAnalysis(torchvision.models.shufflenet_v2_x0_5().eval(), torch.zeros(1, 3, 224, 224))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    assert sum(count("fvcore", row, 1) for row in report.leaves) == analysis.total()


@pytest.mark.parametrize("name, module_class, kind", [
    ("vit_b_16", "MultiheadAttention", "attention"),
    ("swin_t", "ShiftedWindowAttention", "attention"),
    ("swin_t", "PatchMerging", "space_to_depth"),
    ("swin_v2_t", "ShiftedWindowAttentionV2", "attention"),
    ("maxvit_t", "RelativePositionalMultiHeadAttention", "attention"),
])
def test_modules_with_a_formula_are_read_whole(name, module_class, kind):
    """Attention (and Swin's patch merging) as convcalc's formula: one row of that kind per module of that class,
    counted in the model, and the totals still PyTorch's counter's."""
    shape = (3, 256, 256) if name == "swin_v2_t" else (3, 224, 224)
    network = read_model(f"torchvision.models:{name}", shape)
    report, model = analyze(network), on_meta(lambda: getattr(torchvision.models, name)())
    modules = sum(type(m).__name__ == module_class for m in model.modules())
    assert modules and sum(r.kind == kind for r in report.leaves) == modules
    theirs = counter_figures(model, shape)
    assert (report.params, report.buffers, report.macs) == (theirs["params"], theirs["buffers"], theirs["macs"])


def test_a_module_whose_formula_does_not_fit_is_read_operation_by_operation(tmp_path):
    """nn.MultiheadAttention with batch_first=False holds its sequence first: no convcalc formula there. It is read as
    PyTorch runs it (a row of its own figures), and the totals are PyTorch's."""
    module = tmp_path / "sequence_first.py"
    module.write_text(textwrap.dedent("""
        import torch


        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.attention = torch.nn.MultiheadAttention(32, 4)

            def forward(self, x):
                return self.attention(x, x, x)[0]
    """))
    network = read_model(f"{module}:Net", (7, 32))
    report = analyze(network)
    kinds = [r.kind for r in report.leaves]
    assert "attention" not in kinds
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        import sequence_first
    finally:
        sys.path.remove(str(tmp_path))
    theirs = counter_figures(on_meta(sequence_first.Net), (7, 32))
    assert (report.params, report.macs) == (theirs["params"], theirs["macs"])
