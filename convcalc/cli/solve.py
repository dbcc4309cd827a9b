"""`convcalc solve`: the unknown of a layer's size equation."""

from __future__ import annotations

import sys

import typer

from ..core.errors import ConvcalcError
from ..core.messages import _
from .group import app
from .options import LANG_OPTION, Format, Lang, TeachOp, fail, parse_unknowns
from .output import can_print, fit_width, write_lines


@app.command(epilog="Every solution is checked by the same output-size formulas that `layer` uses.")
def solve(
    op: TeachOp = typer.Option(TeachOp.conv, "--op", help="Layer kind: conv, convT, maxpool, avgpool."),
    size: str = typer.Option(None, "--in", "--input", help="Input size (? for unknown): 224, 32x64, ?."),
    out: str = typer.Option(None, "--out", help="Output size (? for unknown), or the target for --layers ?."),
    k: str = typer.Option(None, "--k", "--kernel", help="Kernel size, or ?."),
    s: str = typer.Option(None, "--s", "--stride", help="Stride, or ? [conv: 1; pooling: the kernel]."),
    p: str = typer.Option(None, "--p", "--padding", help="Padding, or ? [0]."),
    p_total: str = typer.Option(None, "--p-total", help="d2l's total padding p_h (both sides together), or ?."),
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
    from ..core.errors import quote
    from ..core.formulas import axis_names
    from ..teach.solve import count_layers, solve_axis

    kind = op.value
    if output_padding is not None and kind != "convT":
        fail(_("--output-padding: --op {kind} has no such option; drop --output-padding, got {value}").format(kind=kind, value=quote(output_padding)), 2)
    if layers is not None and layers.strip() != "?":
        fail(_("--layers: only ? (the count to find), got {value}").format(value=quote(layers)), 2)
    if rf is not None and layers is None:
        fail(_("--rf: a receptive-field target goes with --layers ?, got {rf}").format(rf=rf), 2)
    fields = {"in": parse_unknowns(size, "--in"), "out": parse_unknowns(out, "--out"), "k": parse_unknowns(k, "--k"),
              "s": parse_unknowns(s, "--s"), "p": parse_unknowns(p, "--p"), "p_total": parse_unknowns(p_total, "--p-total"),
              "d": parse_unknowns(d, "--d"),
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

    from ..render import teach as show

    if fmt is Format.json:
        first = answers[0][1]
        from ..render.report import SCHEMA_VERSION

        data = {"schema_version": SCHEMA_VERSION, "unknowns": list(first.unknowns)}
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
    write_lines(lines, fit_width())
