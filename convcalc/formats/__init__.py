"""Readers and writers. Every model reader feeds one graph builder (graph.py) with only its own parsing and
operation table: convcalc's YAML description (spec.py, yamlread.py, zoo.py), ONNX files (onnxfile.py,
onnxregion.py), PyTorch models run on the meta device (torchrun.py) or traced by torch.fx (pytorch.py);
pytorch_export.py writes a network as PyTorch code, one writer per layer kind."""
