"""Where a network comes from, whatever names it: a bundled network's name, a description (a path or
its text), an ONNX, Darknet or Ultralytics file, a PyTorch model (`file.py:Name`, `module:name`, or the
module itself). Each reader is imported only when its kind is asked for."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ConvcalcError, quote, shorten
from ..core.messages import N_, Note
from ..core.network import Network


def is_description_text(text: str) -> bool:
    """YAML given as text rather than a file's name: several lines, or a mapping on one line."""
    return "\n" in text or text.lstrip().startswith("{")


def open_network(source, shape: tuple | None = None, arguments: dict | None = None, fuse: bool = False, text: bool = True) -> Network:
    """The network `source` names (see the module's docstring); `shape` overrides its input (C×H×W),
    `arguments` a description's `args:`, `fuse` folds batchnorm into convolutions (Darknet, Ultralytics);
    `text`: a string may be a description's text (the command line takes names and paths only)."""
    arguments = arguments or {}
    if hasattr(source, "named_modules") and callable(source):  # an nn.Module, torch already imported by its caller
        from .pytorch import read_module

        refuse_arguments(arguments, FROM_PYTORCH)
        return read_module(source, shape)
    if isinstance(source, Path):
        source = str(source)
    if not isinstance(source, str):
        raise ConvcalcError(Note("model: a name, a path, a description's text or an nn.Module, got {value}",
                                 value=quote(type(source).__name__)))
    if text and is_description_text(source):
        from .spec import loads

        return loads(source, "<string>", shape, arguments, fuse=fuse)
    if source.lower().endswith(".onnx"):
        from .onnxfile import read_onnx

        refuse_arguments(arguments, FROM_ONNX)
        return read_onnx(Path(source), shape)
    if source.lower().endswith(".cfg"):
        from .darknet import read_darknet

        refuse_arguments(arguments, FROM_DARKNET)
        return read_darknet(Path(source), shape, fuse)
    if ":" in source and not Path(source).exists():
        from .pytorch import is_model_target, read_model

        if is_model_target(source):
            refuse_arguments(arguments, FROM_PYTORCH)
            return read_model(source, shape)
    from .spec import load
    from .zoo import find

    return load(find(source), shape, arguments, fuse)


FROM_PYTORCH = N_("arguments: network arguments belong to descriptions; a PyTorch model takes its own, got {value}")
FROM_ONNX = N_("arguments: network arguments belong to descriptions; an ONNX model has its own, got {value}")
FROM_DARKNET = N_("arguments: network arguments belong to descriptions; a Darknet file has its own, got {value}")


def refuse_arguments(arguments: dict, message: str) -> None:
    if arguments:
        raise ConvcalcError(Note(message, value=quote(shorten(str(next(iter(arguments)))))))
