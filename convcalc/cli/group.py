"""The command group: its usage errors in convcalc's words, the language chosen before the help
texts are built, and the process's exit status."""

from __future__ import annotations

import os
import sys

import typer

from .. import __version__
from ..core.messages import _, joined
from .options import EXPLAIN_ALONE, LANG_OPTION, Lang, fail, fail_line
from .output import output_failed, prepare_streams


class Commands(typer.core.TyperGroup):
    """The command group, whose usage errors (an unknown option, a value of the wrong type, a
    missing argument) are one `Error: <where>: <what>, got <value>` line like every other error."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        argv = bare_explain(list(sys.argv[1:] if args is None else args))
        if argv and command_word(argv) is None and set(argv) <= {"--lang", "en", "zh"} | {a for a in argv if a.startswith("--lang=")}:
            argv = []  # `convcalc --lang zh`: the help, as `convcalc` alone gives it
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
    from typer.exceptions import Abort as ClickAbort, Exit as ClickExit
except ImportError:
    from click.exceptions import Abort as ClickAbort, BadOptionUsage, BadParameter, Exit as ClickExit, MissingParameter, \
        NoArgsIsHelpError, NoSuchOption, UsageError as ClickUsageError

PARSER_ERRORS = (ClickUsageError, ClickExit)  # what a command's parser raises when another command reads its flags


def split_words(text: str, flag: str) -> list[str]:
    """A quoted command line (`'layer --in 56 --k 3'`), split as a shell splits it."""
    import shlex

    from ..core.errors import quote

    try:
        return shlex.split(text)
    except ValueError as error:
        fail(_("{flag}: {reason}, got {value}").format(flag=flag, reason=str(error), value=quote(text)), 2)


def read_flags(callback, args: list[str], flag: str, text: str, allowed) -> tuple[dict, list[str]]:
    """Another command's flags, read by that command's own parser (a quoted `layer …` for compare, `--then 'maxpool
    --k 2'` for compute): its values as click gives them, and the names given beyond `allowed`. What the parser refuses
    is one error line naming `flag`."""
    from ..core.errors import quote

    single = typer.Typer(add_completion=False)
    single.command()(callback)
    command = typer.main.get_command(single)
    try:
        context = command.make_context(callback.__name__, args)
    except PARSER_ERRORS as error:  # an unknown flag, a value of the wrong type, --help
        reason = error.format_message() if hasattr(error, "format_message") else str(error)
        fail(_("{flag}: {reason}, got {value}").format(flag=flag, reason=reason, value=quote(text)), 2)
    defaults = {p.name: p.default for p in command.params}
    beyond = [name for name, value in context.params.items() if name not in allowed and value not in (defaults.get(name), ())]
    return context.params, beyond


ROOT_VALUES = ("--lang",)  # the root's options that take a value


def command_word(argv: list[str]) -> str | None:
    """The command named on the command line (`net` in `--lang zh net lenet5`), or None."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ROOT_VALUES:
            skip = True
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def bare_explain(argv: list[str]) -> list[str]:
    """`--explain` takes an optional list of parts in `layer` and `net`: alone (at the end, or
    before anything that is not a list of parts, such as the network's name) it stands for the
    course's default."""
    from ..teach.parts import PARTS

    if command_word(argv) not in ("layer", "net"):
        return argv
    out = []
    for index, arg in enumerate(argv):
        out.append(arg)
        if arg == "--":
            return out + argv[index + 1:]
        if arg == "--explain":
            following = argv[index + 1] if index + 1 < len(argv) else None
            if following is None or following.startswith("-") or not looks_like_parts(following, PARTS):
                out.append(EXPLAIN_ALONE)
    return out


def looks_like_parts(text: str, parts: tuple[str, ...]) -> bool:
    """A list of parts, perhaps misspelt (then --explain says so); not a network's name or a file."""
    import difflib

    if "," in text:
        return True
    word = text.strip().lower()[:50]
    return word in parts + ("all",) or bool(difflib.get_close_matches(word, parts, n=1, cutoff=0.75))


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
        hint = _(" (did you mean {names}?)").format(names=joined(close)) if close else ""
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
            what = _("must be one of {choices}").format(choices=joined(map(str, kind.choices)))
        elif getattr(kind, "min", None) is not None and getattr(kind, "max", None) is not None:
            what = _("must be an integer from {low} to {high}").format(low=kind.min, high=kind.max)
        elif getattr(kind, "min", None) is not None:
            what = _("must be an integer of at least {low}").format(low=kind.min)
        elif getattr(kind, "name", "") in ("integer", "int"):
            what = _("must be an integer")
        else:
            what = error.format_message()
        value = typed_value(argv, param.opts)
        hint = ""
        if getattr(kind, "choices", None) and value is not None:
            import difflib

            choices = [str(c) for c in kind.choices]
            close = [c for c in choices if c.startswith(value.lower()[:20])] or difflib.get_close_matches(value[:50], choices, n=1)
            hint = _("; did you mean {name}?").format(name=close[0]) if close else ""
        return _("{option}: {what}, got {value}").format(option=param.opts[0], what=what,
                                                         value=quote(value) if value is not None else _("none")) + hint
    group = error.ctx.command if error.ctx is not None else None
    commands = getattr(group, "commands", None)
    word = command_word(argv)
    if commands and word is not None and word not in commands:
        import difflib

        close = difflib.get_close_matches(word[:100], list(commands), n=1)
        hint = _("; did you mean {name}?").format(name=close[0]) if close else ""
        return _("{name}: no such command (commands: {commands}), got {value}{hint}").format(
            name=word, commands=joined(commands), value=quote(word), hint=hint)
    if "unexpected extra argument" in error.message:
        extra = error.message.rpartition("(")[2].rstrip(")")
        return _("{command}: takes no more arguments, got {value}").format(command=error.ctx.command_path, value=quote(extra))
    return _("{command}: {message}").format(command=error.ctx.command_path if error.ctx else "convcalc", message=error.format_message())


SETTINGS = dict(cls=Commands, add_completion=True, no_args_is_help=True, rich_markup_mode=None,
                context_settings={"help_option_names": ["-h", "--help"]},
                help="Shape, parameter, FLOP and receptive-field calculator for convolutional networks.")
app = typer.Typer(**SETTINGS)


COMMANDS = ("layer", "net", "compare", "zoo", "export", "compute", "solve")  # each a module of this package, in the help's order


def register(*names: str) -> None:
    """Import the commands' modules, which register them on `app`, in the help's order."""
    from importlib import import_module

    for name in names:
        import_module(f".{name}", __package__)
    order = {name: index for index, name in enumerate(COMMANDS)}
    app.registered_commands.sort(key=lambda info: order[info.name or info.callback.__name__])


def only(name: str | None):
    """The command group with just the command asked for: building every command's options costs
    more than running `layer`. The whole group when no known command is named (the help, a
    misspelt command's did-you-mean) or the shell asks for completions."""
    if name not in COMMANDS or "_CONVCALC_COMPLETE" in os.environ:
        register(*COMMANDS)
        return app
    register(name)
    chosen = [info for info in app.registered_commands if (info.name or info.callback.__name__) == name]
    group = typer.Typer(**{**SETTINGS, "add_completion": False})  # --install-completion belongs to the root's help
    group.registered_commands = chosen
    group.registered_callback = app.registered_callback
    return group


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
    command = typer.main.get_command(only(command_word(argv)))
    if language != "en":
        i18n.translate_command(command)
        words = argv[: argv.index("--")] if "--" in argv else argv
        if command_word(argv) is None or "-h" in words or "--help" in words:  # help is shown
            chinese_help()
    return command


def chinese_help() -> None:
    """The help as Chinese is set: wrapped counting a Chinese character as the two columns it takes
    on a terminal, full-width colons and semicolons, the parser's type names in Chinese."""
    from rich.cells import cell_len

    from ..render.fit import fill

    try:
        from typer._click import formatting
    except ImportError:
        from click import formatting

    def wrap_text(text, width=78, initial_indent="", subsequent_indent="", preserve_paragraphs=False):
        paragraphs = text.expandtabs().split("\n\n") if preserve_paragraphs else [text.expandtabs()]
        out = []
        for paragraph in paragraphs:
            if paragraph.startswith("\b\n"):  # click's mark for a block not to rewrap
                out.append("\n".join(initial_indent + line for line in paragraph.splitlines()[1:]))
                continue
            indent = " " * (len(paragraph) - len(paragraph.lstrip(" "))) if preserve_paragraphs else ""
            out.append(fill(paragraph, width, initial_indent + indent, subsequent_indent + indent))
        return "\n\n".join(out)

    formatting.wrap_text = wrap_text
    formatting.term_len = cell_len
    formatter = formatting.HelpFormatter
    if getattr(formatter, "convcalc_chinese", False):
        return

    def write_heading(self, heading):
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_dl(self, rows, col_max=30, col_spacing=2, original=formatter.write_dl):
        rows = [(first.replace("<int range>", _("<integer>")).replace("<int>", _("<integer>")).replace("<str>", _("<text>")),
                 second.replace("; ", "；")) for first, second in rows]
        original(self, rows, col_max, col_spacing)

    formatter.write_heading, formatter.write_dl, formatter.convcalc_chinese = write_heading, write_dl, True
