"""The command line: parse flags, call the core, render, and turn domain errors into `Error: …`."""

from __future__ import annotations

import os
import re
import sys
from enum import Enum

import typer

from . import __version__
from .core.errors import ConvcalcError, reason
from .core.messages import Note, _, say

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
    from .core.errors import quote

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

CONVENTION_HELP = (
    "Counting rules: one multiply-add (MAC) is one FLOP unless --flops-per-mac 2; only convolutions, "
    "linear layers and attention cost FLOPs; bias adds are not counted; parameters are learnable weights and biases, "
    "BatchNorm running statistics are buffers, counted apart; figures are per sample unless --batch."
)


class Op(str, Enum):
    conv = "conv"
    convT = "convT"
    maxpool = "maxpool"
    avgpool = "avgpool"
    adaptive_avgpool = "adaptive_avgpool"
    adaptive_maxpool = "adaptive_maxpool"
    global_avgpool = "global_avgpool"
    linear = "linear"
    flatten = "flatten"
    batchnorm = "batchnorm"
    layernorm = "layernorm"
    instancenorm = "instancenorm"


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


def fail(message, code: int = 1):
    """One line on stderr, `Error: <where>: <what>, got <value>`, at most MAX_MESSAGE characters; an error or a
    Note is said in the reader's language here."""
    fail_line(say(message))
    raise typer.Exit(code)


def fail_line(message: str) -> None:
    from .core.limits import MAX_MESSAGE

    text = _("Error: {message}").format(message=" ".join(str(message).split()))
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    typer.echo(text, err=True)


def version_callback(value: bool):
    if value:
        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Print the version and exit."),
         lang: Lang = LANG_OPTION):
    """Shape, parameter, FLOP and receptive-field calculator for convolutional networks."""


SIZE = re.compile(r"^\s*-?\d+(\s*[x×,*]\s*-?\d+)*\s*$")
PADDING = re.compile(r"^\s*\d+\s*:\s*\d+(\s*[x×,*]\s*\d+\s*:\s*\d+)*\s*$")


def parse_padding(text: str | None, presets: tuple[str, ...]):
    """--p: '1', '1x2', a preset, or (before, after) pairs '1:2' (every axis) and '1:2x0:1' (per axis)."""
    if text is None or ":" not in text:
        return parse_sizes(text, "--p", presets)
    from .core.errors import quote

    if not PADDING.match(text) or len(text) > 100:
        fail(_("--p: (before, after) pairs are written 1:2 (every axis) or 1:2x0:1 (per axis), got "
               "{value}").format(value=quote(text)), 2)
    pairs = tuple(tuple(int(v) for v in part.split(":")) for part in re.split(r"[x×,*]", text))
    if len(pairs) > 3:
        fail(_("--p: at most 3 pairs (one per spatial axis), got {value}").format(value=quote(text)), 2)
    return pairs


def parse_sizes(text: str | None, flag: str, presets: tuple[str, ...] = ()) -> int | tuple[int, ...] | str | None:
    """'10' → 10, '32x64' → (32, 64), 'same' → 'same' where presets allow it."""
    from .core.errors import quote
    from .core.limits import MAX_INT, MAX_INT_DIGITS

    if text is None:
        return None
    if text.strip().lower() in presets:
        return text.strip().lower()
    if not SIZE.match(text):
        expected = "an integer or sizes such as 32x64" + (f", or one of {', '.join(presets)}" if presets else "")
        fail(_("{flag}: must be {expected}, got {value}").format(flag=flag, expected=expected, value=quote(text)), 2)
    parts = re.split(r"[x×,*]", text)
    if len(parts) > 3:
        fail(_("{flag}: at most 3 values (one per spatial axis: D×H×W), got {value}").format(flag=flag, value=quote(text)), 2)
    if any(len(p.strip().lstrip("-").lstrip("0")) > MAX_INT_DIGITS for p in parts) or any(abs(int(p)) > MAX_INT for p in parts):
        fail(_("{flag}: every value must be at most 2^53 = {max_int:,}, got {value}").format(flag=flag, max_int=MAX_INT, value=quote(text)), 2)
    values = tuple(int(v) for v in parts)
    return values[0] if len(values) == 1 else values


def axes_of(*values) -> int:
    return max((len(v) for v in values if isinstance(v, tuple)), default=0)


def expand(value, n: int, flag: str) -> tuple[int, ...]:
    from .core.errors import quote

    if isinstance(value, tuple):
        if len(value) != n:
            fail(_("{flag}: needs 1 or {n} values for {n} spatial axes, got {value}").format(flag=flag, n=n, value=quote('x'.join(map(str, value)))), 2)
        return value
    return (value,) * n


FLAGS = {"c": "--cout", "k": "--k", "s": "--s", "p": "--p", "d": "--d", "groups": "--groups", "out": "--out",
         "output_padding": "--output-padding", "ceil": "--ceil", "input": "--in", "batch": "--batch",
         "flops-per-mac": "--flops-per-mac"}


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
    from .core.errors import quote

    if value is True:
        return _("{flag}: --op {kind} has no such option; drop {flag}").format(flag=flag, kind=kind)
    return _("{flag}: --op {kind} has no such option; drop {flag}, got {value}").format(flag=flag, kind=kind, value=quote(str(value)))


def console():
    from rich.console import Console

    class Quiet(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 when the reader goes (`| head`); it has what it wanted: 0
            try:
                super().on_broken_pipe()  # quiets the console and points standard output at /dev/null
            except SystemExit:
                pass
            raise SystemExit(0)

    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return Quiet(highlight=False, emoji=False)
    return Quiet(highlight=False, emoji=False, width=120)


# which flags mean something for each --op; any other flag given is refused, not ignored
OP_FLAGS = {
    "conv": {"--in", "--k", "--s", "--p", "--d", "--groups", "--cout", "--no-bias", "--p-total"},
    "convT": {"--in", "--k", "--s", "--p", "--d", "--groups", "--cout", "--no-bias", "--output-padding"},
    "maxpool": {"--in", "--k", "--s", "--p", "--d", "--ceil"},
    "avgpool": {"--in", "--k", "--s", "--p", "--ceil"},
    "adaptive_avgpool": {"--in", "--out"},
    "adaptive_maxpool": {"--in", "--out"},
    "global_avgpool": {"--in"},
    "linear": {"--in", "--cout", "--no-bias"},
    "flatten": {"--in"},
    "batchnorm": {"--in"},
    "layernorm": {"--in"},
    "instancenorm": {"--in"},
}


@app.command(epilog=CONVENTION_HELP)
def layer(
    size: str = typer.Option(None, "--in", "--input", help="Spatial input size: 10 (10×10), 32x64 (H×W), 8x32x32 (D×H×W)."),
    cin: int = typer.Option(1, "--cin", help="Input channels (input features for --op linear)."),
    cout: int = typer.Option(None, "--cout", help="Output channels (output features for --op linear) [1]."),
    k: str = typer.Option(None, "--k", "--kernel", help="Kernel size: 5 or 3x5."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride [conv: 1; pooling: the kernel size]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding: a number, AxB, valid / same / full (nndl: narrow / equal / wide), or (before, after) pairs 1:2, 1:2x0:1 [0]."),
    p_total: str = typer.Option(None, "--p-total", help="d2l's total padding p_h (top and bottom together; an odd total puts the extra row at the end): 2 or 3x2."),
    d: str = typer.Option(None, "--d", "--dilation", help="Dilation [1]."),
    groups: int = typer.Option(None, "--groups", help="Groups (= --cin for depthwise) [1]."),
    no_bias: bool = typer.Option(False, "--no-bias", help="The layer has no bias."),
    op: Op = typer.Option(Op.conv, "--op", help="Layer kind."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolution's output padding [0]."),
    out: str = typer.Option(None, "--out", help="Adaptive pooling's output size."),
    ceil: bool = typer.Option(False, "--ceil", "--ceil-mode", help="Pooling rounds the output size up, as PyTorch's ceil_mode."),
    dims: int = typer.Option(None, "--dims", min=1, max=3, help="Spatial axes [the longest of --in/--k/--s/--p/--d, else 2]."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs and FLOPs."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    show_steps: bool = typer.Option(False, "--explain", help="Show the worked solution, formula by formula."),
    draw: bool = typer.Option(False, "--draw", help="Draw the padded input, the first window and the rows no window reaches."),
    lang: Lang = LANG_OPTION,
):
    """Output shape, parameters, FLOPs and receptive field of one layer.

    Example: convcalc layer --in 10 --k 5 --p 1 --s 2   (→ 1×4×4)

    Example: convcalc layer --in 32 --k 3 --p 1 --s 2 --no-bias --explain
    """
    from .core.errors import quote
    from .core.layers import AdaptivePool, Conv, ConvTranspose, Flatten, InstanceNorm, Linear, Norm, Pool
    from .core.limits import MAX_INT
    from .core.network import Settings, single_layer

    kind = op.value
    given = {"--in": size, "--k": k, "--s": s, "--p": p, "--p-total": p_total, "--d": d, "--groups": groups, "--cout": cout,
             "--output-padding": output_padding, "--out": out, "--ceil": ceil or None, "--no-bias": no_bias or None}
    for flag, value in given.items():
        if value is not None and flag not in OP_FLAGS[kind]:
            fail(no_such_option(flag, kind, value), 2)
    spatial = parse_sizes(size, "--in")
    kernel = parse_sizes(k, "--k")
    stride = parse_sizes(s, "--s")
    from .core.geometry import PRESETS

    padding = parse_padding(p or "0", PRESETS)
    p_total_value = parse_sizes(p_total, "--p-total")
    if p_total is not None and p is not None:
        fail(_("--p-total: gives the padding already; drop --p (or --p-total), got --p {value} too").format(value=quote(p)), 2)
    dilation = parse_sizes(d or "1", "--d")
    out_pad = parse_sizes(output_padding or "0", "--output-padding")
    out_size = parse_sizes(out, "--out")
    n = dims or axes_of(spatial, kernel, stride, padding if not (isinstance(padding, tuple) and len(padding) == 1) else None,
                        dilation, out_pad, out_size, p_total_value) or 2
    for flag, value in (("--cin", cin), ("--cout", cout), ("--groups", groups)):
        if value is not None and value < 1:
            fail(_("{flag}: must be a positive integer, got {value}").format(flag=flag, value=quote(value)))
        if value is not None and value > MAX_INT:
            fail(_("{flag}: must be at most 2^53 = {max_int:,}, got {value}").format(flag=flag, max_int=MAX_INT, value=quote(value)))
    if spatial is None and kind != "linear":
        fail(_("--in: the input size is required for --op {kind}, got none").format(kind=kind))
    shape = (cin, *expand(spatial, n, "--in")) if spatial is not None else (cin,)
    if kernel is None and kind in ("conv", "convT", "maxpool", "avgpool"):
        fail(_("--k: the kernel size is required for --op {kind}, got none").format(kind=kind))
    bias = not no_bias
    cout, groups = cout or 1, groups or 1
    if kind == "conv":
        built = Conv(cout, kernel, 1 if stride is None else stride, 0 if p_total is not None else padding, dilation, groups, bias,
                     p_total=p_total_value)
    elif kind == "convT":
        built = ConvTranspose(cout, kernel, 1 if stride is None else stride, padding, out_pad, dilation, groups, bias)
    elif kind in ("maxpool", "avgpool"):
        built = Pool(kernel, stride, padding, dilation, ceil, kind)
    elif kind.startswith(("adaptive", "global")):
        built = AdaptivePool(1 if out_size is None else out_size, kind)
    elif kind == "linear":
        built = Linear(cout, bias)
    elif kind in ("batchnorm", "layernorm"):
        built = Norm(kind=kind)
    elif kind == "instancenorm":
        built = InstanceNorm()
    else:
        built = Flatten()
    try:
        report = single_layer(built, shape, Settings(batch=batch, flops_per_mac=flops_per_mac))
    except ConvcalcError as error:
        fail(flag_message(error, kind))
    drawing = []
    if draw:
        from .render import teach as teach_render
        from .core.geometry import ConvAxis

        axes = report.leaves[0].cost.axes
        spatial = report.leaves[0].input_shape[1:]
        if not axes or not isinstance(axes[0], ConvAxis) or len(spatial) > 2 or max(spatial) > 64:
            fail(_("--draw: draws 1-D and 2-D convolutions and pooling of inputs up to 64 per side, got "
                   "--op {kind} on {value}").format(kind=kind, value='×'.join(map(str, spatial)) or 'no spatial axes'), 2)
        drawing = teach_render.draw_lines(spatial, axes)
        if fmt is Format.csv:
            fail(_("--draw: a picture has no place in CSV; use --format table, markdown or json, got --format csv"), 2)
    emit_layer(report, fmt, show_steps, drawing)


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    adamw = "adamw"


class Count(str, Enum):
    macs = "macs"
    fvcore = "fvcore"
    fvcore_train = "fvcore-train"
    torchinfo = "torchinfo"
    calflops = "calflops"
    thop = "thop"
    darknet = "darknet"


class Amp(str, Enum):
    fp16 = "fp16"
    bf16 = "bf16"


def parse_device(text: str | None, dtype: str):
    from .core.errors import quote
    from .core.memory import DEVICES, device

    if text is None:
        return None
    found = device(text, dtype) if len(text) <= 100 else None
    if found is None:
        fail(_("--device: must be one of {names}, or peak FLOP/s and bandwidth in bytes/s (1 to 1e30) such as 19.5e12,1.555e12, got {value}").format(
            names=", ".join(DEVICES), value=quote(text)), 2)
    return found


class Dtype(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


READABLE_ROWS = 80  # a table deeper than this collapses its blocks
COLLAPSE_ROWS = 200  # past this (at the depth shown), identical rows collapse and the middle is left out


@app.command(epilog=CONVENTION_HELP)
def net(
    spec: str = typer.Argument(..., metavar="SPEC", help="A description file (YAML), - for standard input, a bundled network's name: vgg16, resnet50, … (see convcalc zoo), a PyTorch model: my_model.py:Net, torchvision.models:resnet50 (a class, or a function returning an nn.Module; building it runs that code, as python would; needs pip install 'convcalc[torch]'), or an ONNX file: model.onnx."),
    size: str = typer.Option(None, "--input", "--in", help="Override the description's input: 3x160x160 (C×H×W), or 10 (features, for an MLP)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Batch size: multiplies MACs, FLOPs and activation memory."),
    dtype: Dtype = typer.Option(Dtype.fp32, "--dtype", help="Element type for the memory figures."),
    depth: int = typer.Option(None, "--depth", min=0, help="Collapse blocks nested deeper than N into one row each [as deep as fits 80 rows]."),
    flops_per_mac: int = typer.Option(1, "--flops-per-mac", min=1, max=2, help="1: a multiply-add is one FLOP; 2: two."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    show_steps: bool = typer.Option(False, "--explain", help="Show every layer's worked arithmetic."),
    connections: bool = typer.Option(False, "--connections", help="Add a column of LeCun's connections (LeNet-5's figure)."),
    assignments: list[str] = typer.Option(None, "--set", help="Give a network argument: --set classes=10 --set width=0.5 (repeatable; the description's args: lists them)."),
    by_op: bool = typer.Option(False, "--by-op", help="Add the totals per operator group: conv, linear, pool, norm, activation, merge, reshape."),
    count: Count = typer.Option(Count.macs, "--count", help="Also count as another tool counts, to reproduce its figure: fvcore (eval), fvcore-train, torchinfo (Total mult-adds), calflops (FLOPs), thop (Ultralytics' GFLOPs ÷ 2), darknet (Darknet's BFLOPs)."),
    optimizer: Optimizer = typer.Option(Optimizer.adam, "--optimizer", help="The optimizer whose state the training memory counts."),
    amp: Amp = typer.Option(None, "--amp", help="Mixed precision: fp16 or bf16 activations, float32 weights, gradients and optimizer state."),
    device: str = typer.Option(None, "--device", help="Time bounds (roofline, an estimate) on a device: a100, h100, v100, t4, rtx4090, or PEAK_FLOPS,BANDWIDTH such as 19.5e12,1.555e12."),
    fuse: bool = typer.Option(False, "--fuse", help="As deployed models run: each batchnorm folded into the convolution before it (Darknet and Ultralytics files; for Ultralytics also RepConv's branches merged and the detection head's unused branch dropped, as its fuse() does)."),
    lang: Lang = LANG_OPTION,
):
    """Shapes, parameters, FLOPs, memory and receptive field of every layer of a network.

    Example: convcalc net vgg16.yaml

    Example: convcalc net resnet50 --input 3x160x160 --depth 1
    """
    from .core.limits import MAX_EXPLAINED
    from .core.network import Settings, count_rows

    shape = input_shape(size)
    try:
        arguments = parse_assignments(assignments or [])
        network = load_network(spec, shape, arguments, fuse)
        settings = Settings(batch=batch, flops_per_mac=flops_per_mac, dtype=dtype.value, optimizer=optimizer.value,
                            amp=amp.value if amp else None, device=parse_device(device, amp.value if amp else dtype.value))
        settings.check()
        if show_steps and count_rows(network.body) > MAX_EXPLAINED:
            fail(_("--explain: writes out at most {max_explained:,} layers; drop --explain or describe a "
                   "smaller network, got {count_rows:,} rows").format(max_explained=MAX_EXPLAINED, count_rows=count_rows(network.body)))
        if by_op and fmt is Format.csv:
            fail(_("--by-op: a second table has no place in CSV; use --format table, markdown or json, got --format csv"), 2)
        emit_network(network, settings, fmt, show_steps, depth, connections, by_op, count.value)
    except ConvcalcError as error:
        fail(error)


def input_shape(size: str | None) -> tuple[int, ...] | None:
    """--input: C×H×W (or C, C×L, C×D×H×W)."""
    from .core.errors import quote

    if size is None:
        return None
    parsed = parse_sizes(size, "--input")
    parsed = parsed if isinstance(parsed, tuple) else (parsed,)
    if not 1 <= len(parsed) <= 4 or min(parsed) < 1:
        fail(_("--input: must be C×H×W (or C, C×L, C×D×H×W) with positive sizes, got {value}").format(value=quote(size)), 2)
    return parsed


def load_network(spec: str, shape, arguments: dict, fuse: bool = False):
    """A description (a file, standard input, a bundled name), an ONNX file, or a PyTorch model (`file.py:Name`, `module:name`)."""
    from pathlib import Path

    from .core.errors import quote

    if fuse and not spec.lower().endswith((".cfg", ".yaml", ".yml")):
        fail(_("--fuse: folds batchnorm in Darknet .cfg and Ultralytics model files, got {value}").format(value=quote(spec)), 2)

    if spec == "-":
        return load_stdin(shape, arguments)
    if spec.lower().endswith(".onnx"):
        if arguments:
            fail(_("--set: network arguments belong to descriptions; an ONNX model has its own, got {value}").format(
                value=quote(next(iter(arguments)))), 2)
        from .formats.onnxfile import read_onnx

        return read_onnx(Path(spec), shape)
    if spec.lower().endswith(".cfg"):
        if arguments:
            fail(_("--set: network arguments belong to descriptions; a Darknet file has its own, got {value}").format(
                value=quote(next(iter(arguments)))), 2)
        from .formats.darknet import read_darknet

        return read_darknet(Path(spec), shape, fuse)
    if spec.endswith(".py") and ":" not in spec:  # a model file without the name of its model: say what it defines
        from .formats.pytorch import models_in

        fail(models_in(spec), 2)
    if ":" in spec and not Path(spec).exists():  # file.py:Name or module:name; a description's path has no colon
        from .formats.pytorch import is_model_target, read_model

        if is_model_target(spec):
            if shape is None and spec.split(":")[0].split(".")[0] == "torchvision":  # it declares no input: said before torch loads
                fail(_("--input: a PyTorch model needs its input shape, such as --input 3x224x224, got none"), 2)
            if arguments:
                fail(_("--set: network arguments belong to descriptions; a PyTorch model takes its own, got {value}").format(
                    value=quote(next(iter(arguments)))), 2)
            return read_model(spec, shape)
    from .formats.spec import load
    from .formats.zoo import find

    return load(find(spec), shape, arguments, fuse)


def parse_assignments(texts: list[str]) -> dict:
    """--set name=value: the value read as YAML reads it (10, 0.5, true, relu, none)."""
    from .core.errors import quote
    from .formats.yamlread import read

    arguments = {}
    for text in texts:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or len(text) > 200:
            fail(_("--set: write name=value, such as classes=10, got {value}").format(value=quote(text)), 2)
        parsed = read(value.strip() or "null", "--set")
        if isinstance(parsed, (list, dict)):
            fail(_("--set: a value is a number, true/false or a word, got {value}").format(value=quote(text)), 2)
        arguments[name] = parsed
    return arguments


def load_stdin(shape, arguments=None):
    """`convcalc net -`: a description piped in or typed (several layers without a file)."""
    from .core.limits import MAX_FILE_BYTES
    from .formats.spec import loads

    if sys.stdin is None:
        fail(_("-: standard input is closed, got no description"), 2)
    try:
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError) as error:
        fail(_("-: cannot read standard input: {reason}, got stdin").format(reason=reason(error)), 2)
    return loads(text, "<stdin>", shape, arguments)


def readable_depth(by_depth: dict[int, int]) -> int | None:
    """The deepest level whose rows fit on a screen or two; None when every row fits."""
    if sum(by_depth.values()) <= READABLE_ROWS:
        return None
    shown = 0
    for level in sorted(by_depth):
        if shown + by_depth[level] > READABLE_ROWS:
            return max(level - 1, 0)
        shown += by_depth[level]
    return None


class Tee:
    """Hands every row to several sinks."""

    def __init__(self, *sinks):
        self.sinks = sinks

    def open(self, depth):
        return tuple(s.open(depth) for s in self.sinks)

    def close(self, tokens, row):
        for s, token in zip(self.sinks, tokens):
            s.close(token, row)

    def leaf(self, row):
        for s in self.sinks:
            s.leaf(row)


def emit_network(network, settings, fmt: "Format", show_steps: bool, depth: int | None, connections: bool = False,
                 by_op: bool = False, rule: str = "macs") -> None:
    """Walk the network once, handing its rows to the writer of the chosen format. JSON and CSV
    are written as the rows come, into a spooled file that reaches stdout only once the whole
    network is known to be valid (an error leaves stdout empty)."""
    import tempfile

    from .render import report as render
    from .core.network import ByOp, Collect, rows_by_depth, walk

    collect = Collect() if show_steps else None
    groups = ByOp() if by_op else None
    counted = None
    if rule != "macs":
        from .core.counting import Counted

        counted = Counted(rule, settings.batch)

    def sinks(first):
        chosen = [s for s in (first, collect, groups, counted) if s is not None]
        return chosen[0] if len(chosen) == 1 else Tee(*chosen)

    if fmt in (Format.json, Format.csv):
        spool = tempfile.SpooledTemporaryFile(max_size=32 << 20, mode="w+", encoding="utf-8", newline="")
        pieces: list[str] = []

        def write(text: str) -> None:  # a spooled file's write is slow: hand it 4,096 lines at a time
            pieces.append(text)
            if len(pieces) >= 4096:
                spool.write("".join(pieces))
                pieces.clear()

        if fmt is Format.json:
            writer = render.JsonWriter(write, network.name, network.input_shape, settings, ascii_only=not can_print("×"), rule=rule)
        else:
            writer = render.CsvWriter(write, settings, depth, rule)
        report = walk(network, settings, sinks(writer))
        if fmt is Format.json:
            if counted is not None:
                writer.extra["count"] = render.count_dict(counted)
            if groups is not None:
                writer.extra["by_op"] = render.by_op_dict(groups.result(), report)
            if collect is not None:
                writer.extra["explanation"] = render.explanation(report._replace(rows=tuple(collect.rows)), collect.rows)
            writer.finish(report)
        spool.write("".join(pieces))
        spool.seek(0)
        import shutil

        shutil.copyfileobj(spool, sys.stdout, 1 << 20)
        return
    by_depth = rows_by_depth(network.body)
    if depth is None and fmt is Format.table:
        depth = readable_depth(by_depth)
    shown = sum(n for d, n in by_depth.items() if depth is None or d <= depth)
    table = render.TableRows(depth, collapse=shown > COLLAPSE_ROWS)
    report = walk(network, settings, sinks(table))
    steps = render.explanation(report._replace(rows=tuple(collect.rows)), collect.rows) if collect else []
    if fmt is Format.markdown:
        sys.stdout.write(render.to_markdown(report, table))
        if counted is not None:
            sys.stdout.write("\n" + render.count_text(counted) + "\n")
        if groups is not None:
            sys.stdout.write("\n" + render.by_op_markdown(groups.result(), report))
        write_lines(steps)
        return
    out = console()
    print_wide(out, render.network_table(report, table, connections, settings.device is not None))
    deepest = max(by_depth)
    if depth is not None and depth < deepest:
        out.print(_("(blocks below depth {depth} collapsed into one row each; --depth {deepest} shows every layer)").format(
            depth=depth, deepest=deepest))
    if groups is not None:
        out.print(render.by_op_table(groups.result(), report))
    out.print(render.totals_table(report, counted))
    for line in render.warning_lines(report):
        out.print(line, markup=False, style="yellow", highlight=False)
    write_lines(steps)


def print_wide(out, table) -> None:
    """A table on a terminal too narrow for its figures is printed as wide as they need (the
    terminal wraps it) rather than with figures cut or columns dropped."""
    from rich.measure import Measurement

    needed = Measurement.get(out, out.options.update_width(10_000), table).minimum
    if needed > out.width:
        out.width = needed
    out.print(table)


def write_lines(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")


@app.command()
def zoo(fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."), lang: Lang = LANG_OPTION):
    """List the bundled networks: name, input, parameters, FLOPs at the default input, source.

    Example: convcalc zoo
    """
    from .render import report as render
    from .core.network import analyze
    from .formats.spec import load
    from .formats.zoo import bundled

    entries = []
    try:
        for path in bundled():
            network = load(path)
            entries.append((path.stem, network.name, analyze(network), network.source))
    except ConvcalcError as error:
        fail(error)
    if fmt is Format.json:
        import json

        typer.echo(json.dumps([{"name": stem, "title": title, "input_shape": list(r.input_shape), "params": r.params,
                                "macs": r.macs, "flops": r.flops, "source": source} for stem, title, r, source in entries],
                              indent=2, ensure_ascii=not can_print("×")))
    elif fmt is Format.csv:
        sys.stdout.write(render.zoo_csv(entries))
    elif fmt is Format.markdown:
        sys.stdout.write(render.zoo_markdown(entries))
    else:
        console().print(render.zoo_table(entries))


class Target(str, Enum):
    torch = "torch"


@app.command()
def export(
    spec: str = typer.Argument(..., metavar="SPEC", help="A network as net takes it: a description file (YAML), -, a bundled network's name, a PyTorch model or an ONNX file."),
    to: Target = typer.Option(..., "--to", help="The format to write: torch (a PyTorch file: an nn.Module per block and build())."),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file [standard output]."),
    size: str = typer.Option(None, "--input", "--in", help="Override the description's input: 3x160x160 (C×H×W)."),
    assignments: list[str] = typer.Option(None, "--set", help="Give a network argument: --set classes=10 (repeatable)."),
    lang: Lang = LANG_OPTION,
):
    """Write a network as code for another framework: a self-contained PyTorch file whose build() returns the network.

    Example: convcalc export resnet50 --to torch -o resnet50.py
    """
    from .formats.pytorch_export import export_torch

    shape = input_shape(size)
    try:
        network = load_network(spec, shape, parse_assignments(assignments or []))
        text = export_torch(network)
    except ConvcalcError as error:
        fail(error)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        from .core.errors import quote

        fail(_("--output: cannot write the file: {what}, got {value}").format(what=error.strerror or str(error), value=quote(output)))


def emit_layer(report, fmt: "Format", show_steps: bool, drawing: list[str] = ()) -> None:
    from .render import report as render

    steps = render.explanation(report, report.leaves) if show_steps else []
    if fmt is Format.json:
        import json

        data = render.single_dict(report)
        if show_steps:
            data["explanation"] = steps
        if drawing:
            data["drawing"] = list(drawing)
        typer.echo(json.dumps(data, indent=2, ensure_ascii=not can_print("×")))
        return
    if fmt is Format.csv:
        writer = render.CsvWriter(sys.stdout.write, report.settings, None)
        for row in report.rows:
            writer.leaf(row)
        return
    if fmt is Format.markdown:
        table = render.TableRows(None)
        for row in report.rows:
            table.leaf(row)
        sys.stdout.write(render.to_markdown(report, table))
        write_lines(steps + list(drawing))
        return
    console().print(render.layer_table(report))
    write_lines(steps + list(drawing))


def read_values(text: str | None, flag: str):
    """A tensor given inline (`[[0, 1], [2, 3]]`, JSON or YAML) or from a file (`@x.yaml`),
    decimals kept exact."""
    from pathlib import Path

    from .core.errors import SpecError, quote
    from .core.limits import MAX_FILE_BYTES
    from .formats.yamlread import read

    if text is None:
        return None
    where = flag
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                fail(_("{flag}: a file of values is at most {max_file_bytes:,} bytes, got {st_size:,}").format(flag=flag, max_file_bytes=MAX_FILE_BYTES, st_size=path.stat().st_size), 2)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            what = reason(error)
            fail(_("{flag}: cannot read the file: {what}, got {value}").format(flag=flag, what=what, value=quote(str(path))), 2)
        where = path.name
    if len(text) > MAX_FILE_BYTES:
        fail(_("{flag}: at most {max_file_bytes:,} characters of values, got {count:,}").format(flag=flag, max_file_bytes=MAX_FILE_BYTES, count=len(text)), 2)
    try:
        return read(text, where, exact=True)
    except SpecError as error:
        fail(_("{flag}: {error}").format(flag=flag, error=say(error)) if where == flag else error, 2)


COMPUTE_FLAGS = {
    "conv": {"--w", "--s", "--p", "--d", "--groups", "--bias"},
    "convT": {"--w", "--s", "--p", "--d", "--groups", "--bias", "--output-padding"},
    "maxpool": {"--k", "--s", "--p", "--d", "--ceil"},
    "avgpool": {"--k", "--s", "--p", "--ceil", "--no-count-pad"},
}


class TeachOp(str, Enum):
    conv = "conv"
    convT = "convT"
    maxpool = "maxpool"
    avgpool = "avgpool"


@app.command(epilog="Values are exact: integers stay integers, 0.1 is 1/10, averages are fractions.")
def compute(
    op: TeachOp = typer.Option(TeachOp.conv, "--op", help="Operation: conv (cross-correlation), convT, maxpool, avgpool."),
    x: str = typer.Option(None, "--x", help="Input values: '[[0,1,2],[3,4,5],[6,7,8]]' (H×W or C×H×W), or @file.yaml."),
    w: str = typer.Option(None, "--w", help="Kernel: kh×kw, C×kh×kw (one output channel), C_out×C_in/g×kh×kw; convT: C_in×C_out/g×kh×kw."),
    bias: str = typer.Option(None, "--bias", help="One value per output channel: '[1, 2]'."),
    k: str = typer.Option(None, "--k", "--kernel", help="Pooling window: 2 or 2x3."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride [conv: 1; pooling: the window]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding [0]."),
    d: str = typer.Option(None, "--d", "--dilation", help="Dilation [1]."),
    groups: int = typer.Option(None, "--groups", help="Groups [1]."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolution's output padding [0]."),
    ceil: bool = typer.Option(False, "--ceil", help="Pooling rounds the output size up (PyTorch's ceil_mode)."),
    no_count_pad: bool = typer.Option(False, "--no-count-pad", help="Average pooling leaves padded zeros out of the divisor."),
    dims: int = typer.Option(2, "--dims", min=1, max=3, help="Spatial axes of x: 1 (L or C×L), 2 (H×W or C×H×W), 3."),
    size: str = typer.Option(None, "--in", "--input", help="With --symbolic and no --x: the input size, such as 4x4."),
    symbolic: bool = typer.Option(False, "--symbolic", help="Write each output as a sum of named terms: a11k11 + a12k12 + …"),
    draw: bool = typer.Option(False, "--draw", help="Draw the padded input, the first window and the rows no window reaches."),
    show_steps: bool = typer.Option(False, "--explain", help="Write every output element's sum, as the notes do."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    lang: Lang = LANG_OPTION,
):
    """The output of a layer on given numbers, exactly, with the worked sums.

    Example: convcalc compute --x '[[0,1,2],[3,4,5],[6,7,8]]' --w '[[0,1],[2,3]]'   (→ [[19, 25], [37, 43]])

    Example: convcalc compute --op maxpool --x '[[0,1,2],[3,4,5],[6,7,8]]' --k 2 --s 1 --explain
    """
    from .core.errors import quote
    from .teach import compute as teach

    kind = op.value
    given = {"--w": w, "--k": k, "--s": s, "--p": p, "--d": d, "--groups": groups, "--bias": bias,
             "--output-padding": output_padding, "--ceil": ceil or None, "--no-count-pad": no_count_pad or None}
    for flag, value in given.items():
        if value is not None and flag not in COMPUTE_FLAGS[kind]:
            fail(no_such_option(flag, kind, value), 2)
    if kind in ("conv", "convT") and w is None:
        fail(_("--w: --op {kind} needs the kernel's values, got none").format(kind=kind), 2)
    if kind in ("maxpool", "avgpool") and k is None:
        fail(_("--k: --op {kind} needs the window size, got none").format(kind=kind), 2)
    try:
        if x is None:
            if not symbolic or size is None:
                fail(_("--x: the input values are required (or --symbolic with --in for names instead of "
                       "numbers), got none"), 2)
            spatial = parse_sizes(size, "--in")
            spatial = spatial if isinstance(spatial, tuple) else (spatial,) * dims
            from math import prod

            if len(spatial) != dims or min(spatial) < 1 or prod(spatial) > 4096:
                fail(_("--in: {dims} positive sizes of at most 4,096 values in all, got {value}").format(dims=dims, value=quote(size)), 2)
            values = teach.Tensor(spatial, tuple(range(1, prod(spatial) + 1)))
        else:
            values = teach.tensor(read_values(x, "--x"), "x")
        x_t = teach.as_input(values, dims)
        strides = parse_sizes(s, "--s")
        padding = parse_sizes(p or "0", "--p")
        dilation = parse_sizes(d or "1", "--d")
        bias_t = teach.tensor(read_values(bias, "--bias"), "bias") if bias is not None else None
        if kind in ("conv", "convT"):
            raw = read_values(w, "--w")
            if symbolic and raw is None:
                fail(_("--w: give the kernel, got none"), 2)
            w_t = teach.as_kernel(teach.tensor(raw, "w"), dims, kind, x_t.shape[0], groups or 1)
            if kind == "conv":
                result = teach.conv(x_t, w_t, 1 if strides is None else strides, padding, dilation, groups or 1, bias_t)
            else:
                result = teach.conv_transpose(x_t, w_t, 1 if strides is None else strides, padding,
                                              parse_sizes(output_padding or "0", "--output-padding"), dilation, groups or 1, bias_t)
        else:
            result = teach.pool(x_t, kind, parse_sizes(k, "--k"), strides, padding, dilation, ceil, not no_count_pad)
    except ConvcalcError as error:
        fail(error)
    emit_compute(result, fmt, show_steps, symbolic, draw, numbers=x is not None)


def emit_compute(result, fmt: "Format", show_steps: bool, symbolic: bool, draw: bool, numbers: bool = True) -> None:
    import json

    from .render import teach as show

    extra_lines, drawing = [], []
    if (symbolic or draw) and fmt is Format.csv:
        fail(_("--{value}: has no place in CSV; use --format table, markdown or json, got --format csv").format(value='symbolic' if symbolic else 'draw'), 2)
    if symbolic:
        if result.input.shape[0] != 1 or (result.kernel is not None and result.kernel.shape[:2] != (1, 1)):
            fail(_("--symbolic: names one channel in and one out (a11, k11), got input {items}").format(items='×'.join(map(str, result.input.shape))), 2)
        extra_lines += show.symbolic_lines(result)
    if draw:
        if len(result.input.shape) > 3 or max(result.input.shape[1:]) > 64 or result.op == "convT":
            fail(_("--draw: draws 1-D and 2-D inputs of at most 64 per side for conv and pooling, got input "
                   "{items} for {op}").format(items='×'.join(map(str, result.input.shape)), op=result.op), 2)
        drawing = show.draw_lines(result.input.shape[1:], result.axes)
    steps = show.explanation_lines(result) if show_steps and numbers else []
    if fmt is Format.json:
        extra = {"explanation": steps} if show_steps else {}
        if symbolic:
            extra["symbolic"] = extra_lines
        if draw:
            extra["drawing"] = drawing
        data = show.compute_json(result, extra) if numbers else {"op": result.op, **extra}
        ascii_only = not can_print("×")
        # one key a line, each value compact: a matrix stays readable
        typer.echo("{\n" + ",\n".join(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=ascii_only)}" for key, value in data.items()) + "\n}")
    elif fmt is Format.csv:
        sys.stdout.write(show.compute_csv(result))
    elif fmt is Format.markdown:
        sys.stdout.write(show.compute_markdown(result))
        write_lines(steps + extra_lines + drawing)
    else:
        write_lines(show.output_lines(result, numbers) + steps + extra_lines + drawing)


def parse_unknowns(text: str | None, flag: str) -> tuple | None:
    """'?' → (None,), '224' → (224,), '32x64' → (32, 64), '?x64' → (None, 64)."""
    from .core.errors import quote

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


@app.command(epilog="Every solution is checked by the same output-size formulas that `layer` uses.")
def solve(
    op: TeachOp = typer.Option(TeachOp.conv, "--op", help="Layer kind: conv, convT, maxpool, avgpool."),
    size: str = typer.Option(None, "--in", "--input", help="Input size (? for unknown): 224, 32x64, ?."),
    out: str = typer.Option(None, "--out", help="Output size (? for unknown), or the target for --layers ?."),
    k: str = typer.Option(None, "--k", "--kernel", help="Kernel size, or ?."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride, or ? [conv: 1; pooling: the kernel]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding, or ? [0]."),
    d: str = typer.Option(None, "--d", "--dilation", help="Dilation, or ? [1]."),
    output_padding: str = typer.Option(None, "--output-padding", help="Transposed convolution's output padding, or ? [0]."),
    layers: str = typer.Option(None, "--layers", help="? : how many copies of the layer reach --out or --rf."),
    rf: int = typer.Option(None, "--rf", help="With --layers ?: the receptive-field size to reach (≥)."),
    ceil: bool = typer.Option(False, "--ceil", help="Pooling rounds the output size up (PyTorch's ceil_mode)."),
    max_p: int = typer.Option(None, "--max-p", min=0, help="Search padding up to this [K − 1]."),
    show_steps: bool = typer.Option(False, "--explain", help="Show the algebra: the inequality the floor gives, solved."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    lang: Lang = LANG_OPTION,
):
    """Inverse questions: mark the unknown with ?.

    Example: convcalc solve --in 224 --out 224 --k 3 --p ?     (→ p = 1)

    Example: convcalc solve --in 224 --k 5 --out 4 --layers ?   (→ layers = 55)

    Exit status: 0 when there is a solution, 1 when there is none (as grep for no match), 2 for a usage error.
    """
    from .core.errors import quote
    from .core.formulas import axis_names
    from .teach.solve import count_layers, solve_axis

    kind = op.value
    if output_padding is not None and kind != "convT":
        fail(_("--output-padding: --op {kind} has no such option; drop --output-padding, got {value}").format(kind=kind, value=quote(output_padding)), 2)
    if layers is not None and layers.strip() != "?":
        fail(_("--layers: only ? (the count to find), got {value}").format(value=quote(layers)), 2)
    if rf is not None and layers is None:
        fail(_("--rf: a receptive-field target goes with --layers ?, got {rf}").format(rf=rf), 2)
    fields = {"in": parse_unknowns(size, "--in"), "out": parse_unknowns(out, "--out"), "k": parse_unknowns(k, "--k"),
              "s": parse_unknowns(s, "--s"), "p": parse_unknowns(p, "--p"), "d": parse_unknowns(d, "--d"),
              "output_padding": parse_unknowns(output_padding, "--output-padding")}
    n = max((len(v) for v in fields.values() if v), default=1)
    for name, value in fields.items():
        if value is not None and len(value) not in (1, n):
            fail(_("--{replace}: needs 1 or {n} values, got {value}").format(replace=name.replace('_', '-'), n=n, value=quote('x'.join('?' if v is None else str(v) for v in value))), 2)
    try:
        questions = []
        for axis in range(n):
            given = {name: value[axis if len(value) > 1 else 0] for name, value in fields.items() if value is not None}
            if layers is not None:
                target = given.pop("out", None)
                questions.append(("layers", given, target))
            else:
                questions.append(("size", given, None))
        answers = []
        seen: dict = {}  # a square question is asked once
        for what, given, target in questions:
            key = (what, tuple(sorted(given.items())), target)
            if key not in seen:
                seen[key] = count_layers(kind, given, target, rf, ceil) if what == "layers" else solve_axis(kind, given, ceil, max_p)
            answers.append(seen[key])
    except ConvcalcError as error:
        fail(error)
    if len(seen) == 1:
        emit_solve([("", answers[0])], fmt, show_steps)
    else:
        emit_solve([(axis_names(n)[i], a) for i, a in enumerate(answers)], fmt, show_steps)
    if not all(a.solutions for a in answers):  # as grep does for no match: the answer is printed, the status says none
        raise typer.Exit(1)


def emit_solve(answers, fmt: "Format", show_steps: bool) -> None:
    import json

    from .render import teach as show

    if fmt is Format.json:
        first = answers[0][1]
        data = {"unknowns": list(first.unknowns)}
        if len(answers) == 1:
            data.update({"solutions": list(first.solutions), "more": first.more, "note": first.note})
            if show_steps:
                data["explanation"] = list(first.steps)
        else:
            data["axes"] = [{"axis": label, "solutions": list(a.solutions), "more": a.more, "note": a.note,
                             **({"explanation": list(a.steps)} if show_steps else {})} for label, a in answers]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=not can_print("×")))
        return
    if fmt is Format.csv:
        names = list(answers[0][1].unknowns)
        lines = [",".join((["axis"] if len(answers) > 1 else []) + names)]
        for label, a in answers:
            lines += [",".join(([label] if len(answers) > 1 else []) + [str(x[n]) for n in names]) for x in a.solutions]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    lines = show.solve_lines(answers, show_steps)
    if fmt is Format.markdown:
        lines = [f"- {line}" for line in lines]
    write_lines(lines)


# what a terminal that cannot show a character prints instead
ASCII = {"×": "x", "—": "-", "–": "-", "…": "...", "≤": "<=", "≥": ">=", "→": "->", "←": "<-", "✓": "y", "·": "*",
         "⌊": "floor(", "⌋": ")", "⌈": "ceil(", "⌉": ")", "Σ": "sum", "∏": "prod", "²": "^2", "̂": "^", "−": "-",
         "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "#", "▍": "#", "▎": "#", "▏": "#", "½": "1/2", "≈": "~"}


def ascii_fallback(error: UnicodeEncodeError):
    text = error.object[error.start:error.end]
    return "".join(ASCII.get(c, "?") for c in text), error.end


def can_print(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def prepare_streams() -> None:
    """A terminal or pipe that cannot encode ×, box characters or bars gets ASCII stand-ins."""
    import codecs

    codecs.register_error("convcalc-ascii", ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                "×█─".encode(stream.encoding or "ascii")
            except (UnicodeEncodeError, LookupError):
                stream.reconfigure(errors="convcalc-ascii")


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
    from .core.errors import quote
    from .render import i18n

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


def output_failed(error: OSError) -> int:
    """Standard output broke (a closed pipe, a full disk): say so once, and keep Python from
    saying it again when it flushes at exit."""
    import errno

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    if error.errno == errno.EPIPE:  # the reader has gone (`| head`): it has what it wanted, as with `set -o pipefail`
        return 0
    from .core.errors import quote

    message = _("output: cannot write the results: {reason}, got {value}").format(
        reason=reason(error, str(error)), value=quote(getattr(sys.stdout, "name", "stdout")))
    print(_("Error: {message}").format(message=message), file=sys.stderr)
    return 1
