"""The language a user reads: English, or Chinese from a gettext catalog (locale/zh/LC_MESSAGES).

Every sentence is written in English in the code and passes through `_`; the catalog follows the
course notes' terms (locale/glossary.md). English needs no catalog, so it costs nothing at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.messages import N_, _

LANGUAGES = ("en", "zh")
DOMAIN = "convcalc"
LOCALE_DIR = Path(__file__).parent / "locale"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's own order

# the command-line parser's words that reach a user: typer looks up the first five through
# gettext; the usage prefix and the help option's text are translated here
PARSER_WORDS = (N_("Options"), N_("Commands"), N_("Arguments"), N_("default: {default}"), N_("required"),
                N_("Usage: "), N_("Show this message and exit."))
USAGE_WORDS = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."), N_("SPEC"))


class LanguageError(ValueError):
    """A language asked for that convcalc does not speak."""


def from_locale(environ=os.environ) -> str:
    """Chinese for a zh* locale (zh_CN.UTF-8, zh_TW, zh), English otherwise; the first variable set decides."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            first = value.split(":")[0].strip().lower()
            return "zh" if first.startswith("zh") else "en"
    return "en"


def requested(argv: list[str]) -> str | None:
    """The value of --lang on the command line (--lang zh or --lang=zh), before any `--`."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang":
            return argv[index + 1] if index + 1 < len(argv) else ""
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def choose(argv: list[str], environ=os.environ) -> str:
    """--lang, then CONVCALC_LANG, then the locale."""
    for where, value in (("--lang", requested(argv)), ("CONVCALC_LANG", environ.get("CONVCALC_LANG"))):
        if value is not None and (where == "--lang" or value != ""):
            language = value.strip().lower()
            if language not in LANGUAGES:
                raise LanguageError(where, value)
            return language
    return from_locale(environ)


def catalog(language: str):
    """The gettext translations for `language` (None for English)."""
    if language == "en":
        return None
    import gettext

    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def install(language: str):
    """Make `language` the language of every message: convcalc's own, and the command-line
    parser's (click's usage errors and help headings)."""
    import sys

    from ..core import messages

    global _installed, current_language
    current_language = language if language in LANGUAGES else "en"
    translations = catalog(language)
    messages.use(translations.gettext if translations else None)
    if translations is None and _installed is None:
        return None
    import gettext

    previous = _installed or gettext
    current = translations or gettext
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("click", "typer") and module is not None:
            if getattr(module, "_", None) in (gettext.gettext, previous.gettext):
                module._ = current.gettext
            if getattr(module, "ngettext", None) in (gettext.ngettext, previous.ngettext):
                module.ngettext = current.ngettext
    _installed = translations
    return translations


_installed = None  # the translations the parser's modules were given
current_language = "en"  # what install() chose last (a page says which language it is in)


def translate_command(command) -> None:
    """Translate the help texts of a click command tree in place (typer builds them in English)."""
    import inspect

    for attribute in ("help", "epilog", "short_help"):
        text = getattr(command, attribute, None)
        if text:
            setattr(command, attribute, _(inspect.cleandoc(text)))
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = _(param.help)

    def format_usage(ctx, formatter, original=command.format_usage):
        write_usage = formatter.write_usage

        def translated(prog, args="", prefix=None):
            for word in USAGE_WORDS:
                args = args.replace(word, _(word))
            write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

        formatter.write_usage = translated
        try:
            original(ctx, formatter)
        finally:
            del formatter.write_usage

    def get_help_option(ctx, original=command.get_help_option):
        option = original(ctx)
        if option is not None and option.help:
            option.help = _(option.help)
        return option

    command.format_usage = format_usage
    command.get_help_option = get_help_option
    for child in getattr(command, "commands", {}).values():
        translate_command(child)


def help_texts(command) -> list[str]:
    """Every help text of a click command tree, as `translate_command` looks them up."""
    import inspect

    texts = []
    for attribute in ("help", "epilog", "short_help"):
        text = getattr(command, attribute, None)
        if text:
            texts.append(inspect.cleandoc(text))
    texts += [param.help for param in getattr(command, "params", ()) if getattr(param, "help", None)]
    for child in getattr(command, "commands", {}).values():
        texts += help_texts(child)
    return texts
