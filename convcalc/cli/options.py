"""What every command parses: sizes, paddings, devices, --set, tensors, the SPEC argument, and the
one-line `Error: <where>: <what>, got <value>` every refusal ends in."""

from __future__ import annotations

import os
import re
import sys
from enum import Enum

import typer

from ..core.errors import ConvcalcError, reason
from ..core.messages import Note, _, joined, say


CONVENTION_HELP = (
    "Counting rules: one multiply-add (MAC) is one FLOP unless --flops-per-mac 2; only convolutions, "
    "linear layers and attention cost FLOPs; bias adds are not counted; parameters are learnable weights and biases, "
    "BatchNorm running statistics are buffers, counted apart; figures are per sample unless --batch."
)


class Lang(str, Enum):
    en = "en"
    zh = "zh"


# every command takes --lang; main() reads it before the help texts are built, so it is only declared here
LANG_OPTION = typer.Option(None, "--lang", help="Language of everything printed: en or zh [from CONVCALC_LANG, else the locale: LANGUAGE, LC_ALL, LC_MESSAGES, LANG]; JSON and CSV keys stay English.")


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class NetFormat(str, Enum):
    """`net`'s formats: the others', and the network as a graph."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    mermaid = "mermaid"
    dot = "dot"
    html = "html"


# what `net -o FILE` writes when --format is not given, by the file's ending
FORMAT_OF_SUFFIX = {".json": "json", ".csv": "csv", ".md": "markdown", ".mmd": "mermaid", ".dot": "dot", ".gv": "dot",
                    ".html": "html", ".htm": "html", ".svg": "dot"}


def fail(message, code: int = 1):
    """One line on stderr, `Error: <where>: <what>, got <value>`, at most MAX_MESSAGE characters; an error or a
    Note is said in the reader's language here."""
    fail_line(say(message))
    raise typer.Exit(code)


def fail_line(message: str) -> None:
    from ..core.limits import MAX_MESSAGE

    text = _("Error: {message}").format(message=" ".join(str(message).split()))
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    try:  # one line, for a pipe or a log; on a terminal, wrapped at its edge between words
        if sys.stderr is not None and sys.stderr.isatty():
            from ..render.fit import fill

            text = fill(text, max(os.get_terminal_size(sys.stderr.fileno()).columns, 20), "", "  ")
    except (OSError, ValueError, AttributeError):
        pass
    typer.echo(text, err=True)


SIZE = re.compile(r"^\s*-?\d+(\s*[x×,*]\s*-?\d+)*\s*$")


PADDING = re.compile(r"^\s*\d+\s*:\s*\d+(\s*[x×,*]\s*\d+\s*:\s*\d+)*\s*$")


def parse_padding(text: str | None, presets: tuple[str, ...]):
    """--p: '1', '1x2', a preset, or (before, after) pairs '1:2' (every axis) and '1:2x0:1' (per axis)."""
    if text is None or ":" not in text:
        return parse_sizes(text, "--p", presets)
    from ..core.errors import quote

    if not PADDING.match(text) or len(text) > 100:
        fail(_("--p: (before, after) pairs are written 1:2 (every axis) or 1:2x0:1 (per axis), got "
               "{value}").format(value=quote(text)), 2)
    pairs = tuple(tuple(int(v) for v in part.split(":")) for part in re.split(r"[x×,*]", text))
    if len(pairs) > 3:
        fail(_("--p: at most 3 pairs (one per spatial axis), got {value}").format(value=quote(text)), 2)
    return pairs


def parse_sizes(text: str | None, flag: str, presets: tuple[str, ...] = (), most: int = 3) -> int | tuple[int, ...] | str | None:
    """'10' → 10, '32x64' → (32, 64), 'same' → 'same' where presets allow it."""
    from ..core.errors import quote
    from ..core.limits import MAX_INT, MAX_INT_DIGITS

    if text is None:
        return None
    if text.strip().lower() in presets:
        return text.strip().lower()
    if not SIZE.match(text):
        expected = (_("an integer or sizes such as 32x64, or one of {presets}").format(presets=joined(presets)) if presets
                    else _("an integer or sizes such as 32x64"))
        fail(_("{flag}: must be {expected}, got {value}").format(flag=flag, expected=expected, value=quote(text)), 2)
    parts = re.split(r"[x×,*]", text)
    if len(parts) > most:
        fail(_("{flag}: at most 3 values (one per spatial axis: D×H×W), got {value}").format(flag=flag, value=quote(text)) if most == 3 else
             _("{flag}: at most {most} values, got {value}").format(flag=flag, most=most, value=quote(text)), 2)
    if any(len(p.strip().lstrip("-").lstrip("0")) > MAX_INT_DIGITS for p in parts) or any(abs(int(p)) > MAX_INT for p in parts):
        fail(_("{flag}: every value must be at most 2^53 = {max_int:,}, got {value}").format(flag=flag, max_int=MAX_INT, value=quote(text)), 2)
    values = tuple(int(v) for v in parts)
    return values[0] if len(values) == 1 else values


def axes_of(*values) -> int:
    return max((len(v) for v in values if isinstance(v, tuple)), default=0)


def expand(value, n: int, flag: str) -> tuple[int, ...]:
    from ..core.errors import quote

    if isinstance(value, tuple):
        if len(value) != n:
            fail(_("{flag}: needs 1 or {n} values for {n} spatial axes, got {value}").format(flag=flag, n=n, value=quote('x'.join(map(str, value)))), 2)
        return value
    return (value,) * n


FLAGS = {"c": "--cout", "k": "--k", "s": "--s", "p": "--p", "d": "--d", "groups": "--groups", "out": "--out",
         "output_padding": "--output-padding", "ceil": "--ceil", "input": "--in", "batch": "--batch",
         "flops-per-mac": "--flops-per-mac", "shape": "--shape"}


def flag_message(error: ConvcalcError, op: str) -> str:
    """Name the flag the user typed: 'k: must be …' → '--k: must be …', the option read from the error's
    own record (its Note), never from the translated text."""
    note, where = error.note, error.where
    if where not in FLAGS:
        return say(note)
    flag = "--cout" if (where == "out" and op == "linear") else FLAGS[where]
    head = note.template.partition(": ")[0]
    if head.startswith("{"):  # the option is a value of the sentence: give it the flag instead
        return say(Note(note.template, **{**note.values, head[1:-1]: flag}))
    text = say(note)
    return flag + text[len(where):] if text.startswith(where) else text


def no_such_option(flag: str, kind: str, value) -> str:
    from ..core.errors import quote

    if value is True:
        return _("{flag}: --op {kind} has no such option; drop {flag}").format(flag=flag, kind=kind)
    return _("{flag}: --op {kind} has no such option; drop {flag}, got {value}").format(flag=flag, kind=kind, value=quote(str(value)))


def parse_device(text: str | None, dtype: str):
    from ..core.errors import quote
    from ..core.memory import DEVICES, device

    if text is None:
        return None
    found = device(text, dtype) if len(text) <= 100 else None
    if found is None:
        fail(_("--device: must be one of {names}, or peak FLOP/s and bandwidth in bytes/s (1 to 1e30) such as 19.5e12,1.555e12, got {value}").format(
            names=joined(DEVICES), value=quote(text)), 2)
    return found


def input_shape(size: str | None) -> tuple[int, ...] | None:
    """--input: C×H×W (or F, C×L, C×D×H×W); the reader checks it has the model's axes."""
    from ..core.errors import quote

    if size is None:
        return None
    parsed = parse_sizes(size, "--input", most=5)
    parsed = parsed if isinstance(parsed, tuple) else (parsed,)
    if min(parsed) < 1:
        fail(_("--input: must be C×H×W (or F, C×L, C×D×H×W) with positive sizes, got {value}").format(value=quote(size)), 2)
    return parsed


def parse_assignments(texts: list[str]) -> dict:
    """--set name=value: the value read as YAML reads it (10, 0.5, true, relu, none, [96, 128])."""
    from ..core.errors import quote
    from ..formats.yamlread import read

    arguments = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or len(text) > 200:
            fail(_("--set: write name=value, such as classes=10, got {value}").format(value=quote(text)), 2)
        parsed = read(value.strip() or "null", "--set")
        flat = parsed if isinstance(parsed, list) else [parsed]
        if isinstance(parsed, dict) or len(flat) > 16 or any(isinstance(v, (list, dict)) for v in flat):
            fail(_("--set: a value is a number, true/false, a word or a short list such as [96, 128], got {value}").format(
                value=quote(text)), 2)
        arguments[name] = parsed
    return arguments


def read_values(text: str | None, flag: str, names: dict | None = None):
    """A tensor given inline (`[[0, 1], [2, 3]]`, JSON or YAML; or as the notes write it, `torch.ones((6, 8))`,
    read by formats/tensortext.py) or from a file (`@x.yaml`), decimals kept exact; `names` are --let's."""
    from pathlib import Path

    from ..core.errors import SpecError, quote
    from ..core.limits import MAX_FILE_BYTES, MAX_TENSOR_VALUES
    from ..formats.yamlread import read

    if text is None:
        return None
    where = flag
    if text.startswith("@"):
        path = Path(text[1:])
        from ..formats.files import read_text

        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                fail(_("{flag}: a file of values is at most {max_file_bytes:,} bytes, got {st_size:,}").format(flag=flag, max_file_bytes=MAX_FILE_BYTES, st_size=path.stat().st_size), 2)
            text = read_text(path, MAX_FILE_BYTES)
        except SpecError as error:
            fail(_("{flag}: {error}").format(flag=flag, error=say(error)), 2)
        except (OSError, UnicodeDecodeError) as error:
            what = reason(error)
            fail(_("{flag}: cannot read the file: {what}, got {value}").format(flag=flag, what=what, value=quote(str(path))), 2)
        where = path.name
    if len(text) > MAX_FILE_BYTES:
        fail(_("{flag}: at most {max_file_bytes:,} characters of values, got {count:,}").format(flag=flag, max_file_bytes=MAX_FILE_BYTES, count=len(text)), 2)
    stripped = text.strip()
    code = stripped and (not stripped.startswith("[") or "/" in stripped or "torch" in stripped or "np." in stripped)
    try:
        if names or code:  # a statement as the notes write it (a name, a call, a fraction): read by the safe evaluator
            from ..formats import tensortext

            return tensortext.evaluate(text, flag, names)
        return read(text, where, exact=True, limit=MAX_TENSOR_VALUES)
    except SpecError as error:
        fail(error, 2)  # it names the flag (or the file) and the line already


class TeachOp(str, Enum):
    conv = "conv"
    convT = "convT"
    maxpool = "maxpool"
    avgpool = "avgpool"


def parse_unknowns(text: str | None, flag: str) -> tuple | None:
    """'?' → (None,), '224' → (224,), '32x64' → (32, 64), '?x64' → (None, 64)."""
    from ..core.errors import quote

    if text is None:
        return None
    if len(text.strip()) == 1 and not text.strip().isdigit() and text.strip() != "?":
        fail(_("{flag}: must be a size or ? (the shell replaces an unquoted ? by a one-letter file "
               "name: write '?'), got {value}").format(flag=flag, value=quote(text)), 2)
    parts = re.split(r"[x×,*]", text.strip())
    if len(parts) > 3:
        fail(_("{flag}: at most 3 values (one per spatial axis), got {value}").format(flag=flag, value=quote(text)), 2)
    values = []
    for part in parts:
        if part.strip() == "?":
            values.append(None)
        else:
            parsed = parse_sizes(part, flag)
            values.append(parsed)
    return tuple(values)


def load_network(spec: str, shape, arguments: dict, fuse: bool = False):
    """A description (a file, standard input, a bundled name), an ONNX file, or a PyTorch model (`file.py:Name`, `module:name`)."""
    from pathlib import Path

    from ..core.errors import quote

    if fuse and not spec.lower().endswith((".cfg", ".yaml", ".yml")):
        fail(_("--fuse: folds batchnorm in Darknet .cfg and Ultralytics model files, got {value}").format(value=quote(spec)), 2)

    if spec == "-":
        return load_stdin(shape, arguments)
    if spec.lower().endswith(".onnx") and arguments:
        fail(_("--set: network arguments belong to descriptions; an ONNX model has its own, got {value}").format(
            value=quote(next(iter(arguments)))), 2)
    if spec.lower().endswith(".cfg") and arguments:
        fail(_("--set: network arguments belong to descriptions; a Darknet file has its own, got {value}").format(
            value=quote(next(iter(arguments)))), 2)
    if spec.endswith(".py") and ":" not in spec:  # a model file without the name of its model: say what it defines
        from ..formats.pytorch import models_in

        fail(models_in(spec), 2)
    if ":" in spec and not Path(spec).exists():  # file.py:Name or module:name; a description's path has no colon
        from ..formats.pytorch import is_model_target

        if is_model_target(spec):
            if shape is None and spec.split(":")[0].split(".")[0] == "torchvision":  # it declares no input: said before torch loads
                fail(_("--input: a PyTorch model needs its input shape, such as --input 3x224x224, got none"), 2)
            if arguments:
                fail(_("--set: network arguments belong to descriptions; a PyTorch model takes its own, got {value}").format(
                    value=quote(next(iter(arguments)))), 2)
    from ..formats.sources import open_network

    return open_network(spec, shape, arguments, fuse, text=False)


def load_stdin(shape, arguments=None):
    """`convcalc net -`: a description piped in or typed (several layers without a file)."""
    from ..core.limits import MAX_FILE_BYTES
    from ..formats.spec import loads

    if sys.stdin is None:
        fail(_("-: standard input is closed, got no description"), 2)
    try:
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError) as error:
        fail(_("-: cannot read standard input: {reason}, got stdin").format(reason=reason(error)), 2)
    return loads(text, "<stdin>", shape, arguments)


EXPLAIN_HELP = ("Show the worked arithmetic; alone: shape, params, macs, flops, rf (what the course asks); or a list of "
                "shape, params, macs, im2col, connections, flops, rf, memory, backward, time, or all: --explain shape,rf.")
EXPLAIN_ALONE = "default"  # what a bare --explain stands for (group.py writes it in)


def explain_parts(text: str | None, *also: str) -> tuple[str, ...] | None:
    """--explain's list of parts, in the order they are shown; None when --explain is not given."""
    from ..core.errors import quote
    from ..teach.parts import DEFAULT_PARTS, PARTS

    if text is None:
        return None
    if text == EXPLAIN_ALONE:
        chosen = set(DEFAULT_PARTS) | set(also)
    elif text.strip() == "all":
        chosen = set(PARTS)
    else:
        chosen = set()
        for part in (p.strip().lower() for p in text.split(",")):
            if part not in PARTS:
                import difflib

                close = difflib.get_close_matches(part[:50], PARTS, n=1)
                hint = _(" (did you mean {name}?)").format(name=close[0]) if close else ""
                fail(_("--explain: no such part{hint}; the parts are {parts}, or all, got {value}").format(
                    hint=hint, parts=joined(PARTS), value=quote(text)), 2)
            chosen.add(part)
    return tuple(p for p in PARTS if p in chosen)


MODEL_SUFFIXES = (".yaml", ".yml", ".onnx", ".cfg", ".py")


def complete_spec(incomplete: str) -> list[str]:
    """Shell completion for SPEC: the bundled networks' names, then directories and model files."""
    from glob import escape, glob

    from ..formats.zoo import bundled

    names = [p.stem for p in bundled() if p.stem.startswith(incomplete)]
    try:
        paths = [p + ("/" if os.path.isdir(p) else "") for p in sorted(glob(escape(incomplete) + "*"))[:200]]
    except OSError:
        paths = []
    return names + [p for p in paths if p.endswith("/") or p.lower().endswith(MODEL_SUFFIXES)]

