"""The command group: its usage errors in convcalc's words, the language chosen before the help
texts are built, and the process's exit status."""

from __future__ import annotations

import sys

import typer

from .. import __version__
from ..core.messages import _
from .options import LANG_OPTION, Lang, fail, fail_line
from .output import output_failed, prepare_streams


class Commands(typer.core.TyperGroup):
    """The command group, whose usage errors (an unknown option, a value of the wrong type, a
    missing argument) are one `Error: <where>: <what>, got <value>` line like every other error."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(args=argv, prog_name=prog_name, standalone_mode=False, **extra)
        except ClickUsageError as error:
            if isinstance(error, NoArgsIsHelpError):
                typer.echo(error.ctx.get_help())
                code = 2
            else:
                fail_line(usage_message(error, argv))
                code = 2
        except ClickAbort:
            typer.echo(_("Aborted!"), err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


try:  # typer ≥ 0.25 carries its own copy of click
    from typer._click.exceptions import BadOptionUsage, BadParameter, MissingParameter, NoArgsIsHelpError, NoSuchOption
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer.exceptions import Abort as ClickAbort
except ImportError:
    from click.exceptions import Abort as ClickAbort, BadOptionUsage, BadParameter, MissingParameter, NoArgsIsHelpError, \
        NoSuchOption, UsageError as ClickUsageError


def typed_value(argv: list[str], names) -> str | None:
    """What the user wrote after one of `names` (--batch 0, --batch=0), the last time."""
    found = None
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        for name in names:
            if arg == name and index + 1 < len(argv):
                found = argv[index + 1]
            elif arg.startswith(name + "="):
                found = arg[len(name) + 1:]
    return found


def usage_message(error, argv: list[str]) -> str:
    """The parser's complaint in convcalc's words: where, what, and the value given."""
    from ..core.errors import quote

    param = getattr(error, "param", None)
    if isinstance(error, NoSuchOption):
        close = sorted(error.possibilities or ())
        hint = _(" (did you mean {names}?)").format(names=", ".join(close)) if close else ""
        return _("{option}: no such option{hint}; --help lists the options, got {value}").format(
            option=error.option_name, hint=hint, value=quote(error.option_name))
    if isinstance(error, BadOptionUsage):
        return _("{option}: needs a value, got none").format(option=error.option_name)
    if isinstance(error, MissingParameter) and param is not None:
        return _("{name}: required, got none").format(name=(param.opts or [param.name])[-1].upper()
                                                       if param.param_type_name == "argument" else param.opts[0])
    if isinstance(error, BadParameter) and param is not None:
        kind = param.type
        if getattr(kind, "choices", None):
            what = _("must be one of {choices}").format(choices=", ".join(map(str, kind.choices)))
        elif getattr(kind, "min", None) is not None and getattr(kind, "max", None) is not None:
            what = _("must be an integer from {low} to {high}").format(low=kind.min, high=kind.max)
        elif getattr(kind, "min", None) is not None:
            what = _("must be an integer of at least {low}").format(low=kind.min)
        elif getattr(kind, "name", "") in ("integer", "int"):
            what = _("must be an integer")
        else:
            what = error.format_message()
        value = typed_value(argv, param.opts)
        return _("{option}: {what}, got {value}").format(option=param.opts[0], what=what,
                                                         value=quote(value) if value is not None else _("none"))
    group = error.ctx.command if error.ctx is not None else None
    commands = getattr(group, "commands", None)
    words = [a for a in argv if not a.startswith("-")]
    if commands and words and words[0] not in commands:
        import difflib

        close = difflib.get_close_matches(words[0][:100], list(commands), n=1)
        hint = _("; did you mean {name}?").format(name=close[0]) if close else ""
        return _("{name}: no such command (commands: {commands}), got {value}{hint}").format(
            name=words[0], commands=", ".join(commands), value=quote(words[0]), hint=hint)
    if "unexpected extra argument" in error.message:
        extra = error.message.rpartition("(")[2].rstrip(")")
        return _("{command}: takes no more arguments, got {value}").format(command=error.ctx.command_path, value=quote(extra))
    return _("{command}: {message}").format(command=error.ctx.command_path if error.ctx else "convcalc", message=error.format_message())


app = typer.Typer(cls=Commands, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Shape, parameter, FLOP and receptive-field calculator for convolutional networks.")


def version_callback(value: bool):
    if value:
        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Print the version and exit."),
         lang: Lang = LANG_OPTION):
    """Shape, parameter, FLOP and receptive-field calculator for convolutional networks."""


def main() -> None:
    # A short-lived process whose objects form no cycles: the collector's repeated scans of a
    # 100,000-layer analysis would cost more than the analysis itself.
    import gc

    gc.disable()
    if sys.stdout is None:  # started with standard output closed
        print(_("Error: {message}").format(message=_("output: standard output is closed, got no file descriptor 1")), file=sys.stderr)
        sys.exit(1)
    prepare_streams()
    code = 0
    try:
        command = build(sys.argv[1:])
        command(prog_name="convcalc")
    except typer.Exit as done:  # raised by fail() before the command runs
        code = done.exit_code
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":  # click's answer to a closed pipe (exit 1): the reader went away
            code = 0
    except OSError as error:
        code = output_failed(error)
    try:
        sys.stdout.flush()
    except OSError as error:
        code = output_failed(error)
    sys.exit(code)


def build(argv: list[str]):
    """The command tree, in the language asked for (--lang, CONVCALC_LANG or the locale)."""
    from ..core.errors import quote
    from ..render import i18n

    try:
        language = i18n.choose(argv)
    except i18n.LanguageError as error:
        where, value = error.args
        fail(_("{where}: must be en or zh, got {value}").format(where=where, value=quote(value)), 2)
    try:
        i18n.install(language)
    except OSError:  # an installation without its catalogs
        fail(_("--lang: this installation has no catalog for the language, got {value}").format(value=quote(language)), 2)
    command = typer.main.get_command(app)
    if language != "en":
        i18n.translate_command(command)
    return command
