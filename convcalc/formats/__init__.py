"""Readers and writers. convcalc's YAML description (spec.py, yamlread.py, zoo.py) builds the core's network
directly; the model readers feed one graph builder (graph.py) with only their own parsing and operation table:
ONNX files (onnxfile.py, onnxregion.py), Darknet .cfg (darknet.py), Ultralytics YAML (ultralytics.py) and
PyTorch models run on the meta device (torchrun.py; the modules read whole by a formula in torchmodules.py,
the model built by pytorch.py). tensortext.py reads tensors as the course notes write them
(a safe evaluator); pytorch_export.py writes a network as PyTorch code, one writer per layer kind."""
