"""The command line: one module per command, each reading its flags, calling one function and
handing the result to render; options.py parses what they share, output.py owns standard output,
app.py the command group and the exit status. Only this package imports typer."""

from .app import app, main
from . import layer, net, zoo, export, compute, solve  # noqa: E402,F401  each registers its command, in the help's order

__all__ = ["app", "main"]
