"""The command line: one module per command, each reading its flags, calling one function and
handing the result to render; options.py parses what they share, output.py owns standard output,
group.py the command group and the exit status. Only this package imports typer.

A command's module is imported when it is run (`convcalc layer` never builds `net`'s options);
`app`, the whole group, imports them all."""

from .group import COMMANDS, main

__all__ = ["app", "main"]


def __getattr__(name: str):
    if name == "app":
        from .group import app, register

        register(*COMMANDS)
        return app
    raise AttributeError(f"module 'convcalc.cli' has no attribute {name!r}")
