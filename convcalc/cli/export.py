"""`convcalc export`: a network written as code."""

from __future__ import annotations

import sys
from enum import Enum

import typer

from ..core.errors import ConvcalcError, reason
from ..core.messages import _, say
from .group import app
from .options import complete_spec, LANG_OPTION, Lang, fail, input_shape, load_network, parse_assignments


class Target(str, Enum):
    torch = "torch"


@app.command()
def export(
    spec: str = typer.Argument(..., metavar="SPEC", autocompletion=complete_spec, help="A network as net takes it: a description file (YAML), -, a bundled network's name, a PyTorch model or an ONNX file."),
    to: Target = typer.Option(..., "--to", help="The format to write: torch (a PyTorch file: an nn.Module per block and build())."),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file [standard output]."),
    size: str = typer.Option(None, "--input", "--in", help="Override the description's input: 3x160x160 (C×H×W)."),
    assignments: list[str] = typer.Option(None, "--set", help="Give a network argument: --set classes=10 (repeatable)."),
    lang: Lang = LANG_OPTION,
):
    """Write a network as code for another framework: a self-contained PyTorch file whose build() returns the network.

    Example: convcalc export resnet50 --to torch -o resnet50.py
    """
    from ..formats.pytorch_export import export_torch

    shape = input_shape(size)
    try:
        network = load_network(spec, shape, parse_assignments(assignments or []))
        text = export_torch(network)
    except ConvcalcError as error:
        fail(error)
    if output is None:
        sys.stdout.write(text)
        return
    from ..formats.files import same_file, write_atomically

    read_from = spec.rpartition(":")[0] if ".py:" in spec else spec  # file.py:build reads file.py
    if same_file(output, read_from):
        from ..core.errors import quote

        fail(_("--output: the network is read from this file; write the code elsewhere, got {value}").format(value=quote(output)))
    try:
        write_atomically(output, text.encode("utf-8"))
    except OSError as error:
        from ..core.errors import quote

        fail(_("--output: cannot write the file: {what}, got {value}").format(what=say(reason(error, str(error))), value=quote(output)))
