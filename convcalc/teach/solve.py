"""Inverse questions: which padding keeps 224 at 224, which input sizes give 7, how many layers
until the receptive field spans the image.

Every candidate is checked with the core's own output-size functions (geometry.py) and the
receptive-field recurrence (receptive.py), so a solution is one that `layer` would confirm. The
floor makes some answers ranges: the algebra that bounds them is kept for the worked solution.

    conv, pooling:  out = ⌊(M + 2P − K̂)/S⌋ + 1, K̂ = D·(K − 1) + 1
                    ⇔ (out − 1)·S ≤ M + 2P − K̂ ≤ (out − 1)·S + S − 1
    transposed:     out = (M − 1)·S − 2P + D·(K − 1) + output_padding + 1
"""

from __future__ import annotations

from itertools import product
from typing import NamedTuple

from ..core.messages import N_, Note, _
from ..core.errors import ConvcalcError, quote
from ..core import geometry as geo
from ..core.receptive import ReceptiveField, conv_window

NAMES = ("in", "out", "k", "s", "p", "p_total", "d", "output_padding")  # p_total: d2l's p_h, both sides together
MAX_CANDIDATES = 2_000_000  # combinations of unknowns one question may try
MAX_LISTED = 1000  # solutions listed; past this the rest are counted
MAX_FAMILY_LISTED = 5  # solutions listed of a family without end (the smallest)
MAX_LAYERS = 1_000_000  # layers a `layers ?` question may stack


class Solution(NamedTuple):
    """One axis's answer: every solution (a dict of the unknowns' values), the algebra, and a
    note when there is none (why, and the nearest reachable)."""

    unknowns: tuple[str, ...]
    solutions: tuple[dict, ...]
    more: int  # solutions found beyond MAX_LISTED
    steps: tuple[str, ...]
    note: str = ""


def output_size(op: str, values: dict, ceil: bool) -> int | None:
    """The output size by the core's formula, or None where the layer is invalid."""
    try:
        if op == "convT":
            return geo.transposed_axis(values["in"], values["k"], values["s"], values["p"], values["output_padding"], values["d"], "axis").out
        if op == "conv" and values.get("p_total") is not None:  # d2l's total: the odd one at the end
            total = values["p_total"]
            return geo.conv_axis(values["in"], values["k"], values["s"], total // 2, total - total // 2, values["d"], "axis").out
        if op == "conv":
            return geo.conv_axis(values["in"], values["k"], values["s"], values["p"], values["p"], values["d"], "axis").out
        return geo.pool_axis(values["in"], values["k"], values["s"], values["p"], values["d"], ceil, "axis").out
    except ConvcalcError:
        return None


def ranges(op: str, known: dict, unknowns: list[str], max_p: int | None, max_value: int) -> dict[str, range]:
    """Where each unknown is searched. P ≤ K − 1 unless max_p says otherwise (more padding only
    adds rows that see nothing but zeros)."""
    size = max(known.get("in") or 0, known.get("out") or 0) or max_value
    out = {}
    k_max = known.get("k") or max(size, 1) * 2 + 1
    for name in unknowns:
        if name == "p":
            out[name] = range(0, (max_p if max_p is not None else k_max - 1) + 1)
        elif name == "p_total":
            out[name] = range(0, 2 * (max_p if max_p is not None else k_max - 1) + 1)
        elif name == "k":  # a kernel spans at most the padded input
            out[name] = range(1, 2 * size + 2 + 2 * (known.get("p") or 0))
        elif name in ("s", "d"):
            out[name] = range(1, 2 * size + 2)
        elif name == "output_padding":
            out[name] = range(0, max(known.get("s") or 2 * size + 1, known.get("d") or 1))
    return out


def in_range(op: str, v: dict) -> range | None:
    """The input sizes that can give `out`, from the inequality the floor gives (widened by one
    stride for ceil mode, whose exact rule the check settles)."""
    k_eff = v["d"] * (v["k"] - 1) + 1
    if op == "convT":
        top = v["out"] - k_eff - v["output_padding"] + 2 * v["p"]
        return range(top // v["s"] + 1, top // v["s"] + 2) if top >= 0 and top % v["s"] == 0 else range(0)
    low = (v["out"] - 1) * v["s"] + k_eff - (v["p_total"] if v.get("p_total") is not None else 2 * v["p"])
    return range(max(low - v["s"], 1), max(low + 2 * v["s"], 1))


def algebra(op: str, known: dict, unknowns: list[str]) -> list[str]:
    """The relation with the known numbers substituted, and the bound it gives a single unknown."""
    def val(name: str, symbol: str) -> str:
        return str(known[name]) if name in known else symbol

    if op == "convT":
        lines = [f"out = (M − 1)·S − 2P + D·(K − 1) + output_padding + 1: {val('out', 'out')} = ({val('in', 'M')} − 1)·{val('s', 'S')} − "
                 f"2·{val('p', 'P')} + {val('d', 'D')}·({val('k', 'K')} − 1) + {val('output_padding', 'output_padding')} + 1"]
        if unknowns == ["output_padding"] and all(n in known for n in ("in", "out", "k", "s", "p", "d")):
            rest = (known["in"] - 1) * known["s"] - 2 * known["p"] + known["d"] * (known["k"] - 1) + 1
            lines.append(_("⇔ output_padding = {out} − {rest} = {value} (it must be smaller than the stride or the dilation)").format(
                out=known["out"], rest=rest, value=known["out"] - rest))
        return lines
    lines = [_("out = ⌈(M + 2P − K̂)/S⌉ + 1 (ceil mode; one less if the last window would start past the input), K̂ = D·(K − 1) + 1")
             if known.get("ceil") else "out = ⌊(M + 2P − K̂)/S⌋ + 1, K̂ = D·(K − 1) + 1"]
    if known.get("s") is not None and "s" not in unknowns and "out" in known:
        s, out = known["s"], known["out"]
        k_hat = str(known["d"] * (known["k"] - 1) + 1) if all(n in known for n in ("k", "d")) else "K̂"
        if k_hat != "K̂":
            lines.append(f"K̂ = {known['d']}·({known['k']} − 1) + 1 = {k_hat}")
        if "p_total" in unknowns or "p_total" in known:  # d2l's p_h: both sides together
            lines.append(f"⇔ (out − 1)·S ≤ M + p_h − K̂ ≤ (out − 1)·S + S − 1: {(out - 1) * s} ≤ "
                         f"{val('in', 'M')} + {val('p_total', 'p_h')} − {k_hat} ≤ {(out - 1) * s + s - 1}")
        else:
            lines.append(f"⇔ (out − 1)·S ≤ M + 2P − K̂ ≤ (out − 1)·S + S − 1: {(out - 1) * s} ≤ "
                         f"{val('in', 'M')} + 2·{val('p', 'P')} − {k_hat} ≤ {(out - 1) * s + s - 1}")
        if len(unknowns) == 1 and k_hat != "K̂":
            k_eff = int(k_hat)
            name = unknowns[0]
            if name == "p_total" and "in" in known:  # d2l: out = ⌊(n − k + p_h + s)/s⌋
                m = known["in"]
                lo, hi = (out - 1) * s + k_eff - m, (out - 1) * s + s - 1 + k_eff - m
                lines.append(f"⇔ {lo} ≤ p_h ≤ {hi}")
            elif name == "p" and "in" in known:
                m = known["in"]
                lo, hi = (out - 1) * s + k_eff - m, (out - 1) * s + s - 1 + k_eff - m
                lines.append(f"⇔ {lo} ≤ 2P ≤ {hi} ⇔ {ceil_half(lo)} ≤ P ≤ {hi // 2}")
            elif name == "in" and "p" in known:
                p = known["p_total"] if "p_total" in known else 2 * known["p"]  # both sides together
                lo, hi = (out - 1) * s + k_eff - p, (out - 1) * s + s - 1 + k_eff - p
                lines.append(f"⇔ {lo} ≤ M ≤ {hi}")
    return lines


def input_family(known: dict, unknowns: list[str]) -> str:
    """in = (out − 1)·S + D·(K − 1) + 1 − 2P + r, 0 ≤ r < S: the inputs that give `out`, the known
    numbers put in and the unknowns left as letters (pooling's stride, when not given, is its kernel)."""
    k, d, p, s = (name if name in unknowns or known.get(name) is None else known[name] for name in ("k", "d", "p", "s"))
    if s == "s" and "s" not in unknowns:
        s = k  # pooling without a stride: the window's own size
    out = known["out"]
    terms: dict[str, int] = {}
    constant = 1

    def add(symbol: str, coefficient: int) -> None:
        terms[symbol] = terms.get(symbol, 0) + coefficient

    if isinstance(s, str):
        add(s, out - 1)
    else:
        constant += (out - 1) * s
    if isinstance(k, int) and isinstance(d, int):
        constant += d * (k - 1)
    elif isinstance(d, int):
        add("k", d)
        constant -= d
    elif isinstance(k, int):
        add("d", k - 1)
    else:
        add("d·(k − 1)", 1)
    if isinstance(p, str):
        add("p", -2)
    else:
        constant -= 2 * p
    parts = [("" if abs(c) == 1 else f"{abs(c)}·") + symbol for symbol, c in terms.items() if c]
    signs = ["−" if c < 0 else "+" for c in terms.values() if c]
    if constant:
        parts.append(str(abs(constant)))
        signs.append("−" if constant < 0 else "+")
    text = "".join(f" {sign} {part}" for sign, part in zip(signs, parts)).lstrip(" +")
    text = "−" + text[2:] if text.startswith("− ") else text
    if isinstance(s, str):
        text += f" + r, 0 ≤ r < {s}"
    elif s > 1:
        text += f" + r, r = 0…{s - 1}"
    return f"in = {text or 0}"


def ceil_half(value: int) -> int:
    return -(-value // 2)


LOWEST = {"in": 1, "out": 1, "k": 1, "s": 1, "d": 1, "p": 0, "p_total": 0, "output_padding": 0}


def check_known(given: dict) -> None:
    """Every value that is given is an integer in its range (sizes up to 2^24: these are questions
    about one layer, and every search stays bounded)."""
    for name, value in given.items():
        if value is None:
            continue
        if type(value) is not int or not LOWEST[name] <= value <= 1 << 24:
            flag = "--" + name.replace("_", "-")
            raise ConvcalcError(Note("{flag}: must be an integer from {lowest} to {value:,} (or ?), got {value2}", flag=flag, lowest=LOWEST[name], value=1 << 24, value2=quote(value)))


def solve_axis(op: str, given: dict, ceil: bool = False, max_p: int | None = None) -> Solution:
    """Every assignment of the unknowns (the names whose value is None) that makes the layer give
    `out` from `in`, or a note saying why there is none."""
    check_known(given)
    known = {n: v for n, v in given.items() if v is not None}
    unknowns = [n for n in NAMES if n in given and given[n] is None]
    if op != "convT":
        unknowns = [n for n in unknowns if n != "output_padding"]
    known.setdefault("d", 1)
    known.setdefault("s", 1 if op in ("conv", "convT") else known.get("k"))
    if op == "convT" and "output_padding" not in unknowns:
        known.setdefault("output_padding", 0)
    if "p_total" in given and op != "conv":
        raise ConvcalcError(Note("--p-total: d2l's total padding belongs to --op conv, got --op {op}", op=op))
    if "p_total" in given and "p" in given:
        raise ConvcalcError(Note("--p-total: gives the padding already; drop --p (or --p-total), got both"))
    if "p" not in unknowns:
        known.setdefault("p", 0)
    if not unknowns:
        raise ConvcalcError(Note("solve: mark the unknown with ?, such as --p ?, got no ?"))
    for name in ("in", "out", "k"):
        if name not in given:
            raise ConvcalcError(Note("--{name}: needed (a size, or ? to find it), got none", name=name))
    if "out" in unknowns and len(unknowns) > 1:
        raise ConvcalcError(Note("solve: the output size is found from the rest; give --out when other values are unknown, got {items} unknown", items=', '.join(unknowns)))
    steps = algebra(op, {**known, "ceil": ceil}, unknowns)
    search_in = "in" in unknowns
    others = [n for n in unknowns if n not in ("in", "out")]
    bounds = ranges(op, known, others, max_p, known.get("out") or known.get("in") or 1)
    count = 1
    for r in bounds.values():
        count *= len(r)
    if count > MAX_CANDIDATES:
        raise ConvcalcError(Note("solve: {count:,} combinations of {items} to try, more than {max_candidates:,}; give one of them, got {count2} unknowns", count=count, items=', '.join(others), max_candidates=MAX_CANDIDATES, count2=len(unknowns)))
    if others:
        searched = ", ".join(f"{'p_h' if name == 'p_total' else name} = {r.start}…{r.stop - 1}" for name, r in bounds.items())
        steps.append(_("searched {ranges}; every candidate checked by the formula").format(ranges=searched))
    found: list[dict] = []
    reachable: set[int] = set()
    more = 0
    for combo in product(*bounds.values()):
        values = {**known, **dict(zip(bounds, combo))}
        if values.get("s") is None:
            values["s"] = values["k"]
        if op == "convT" and values["output_padding"] >= max(values["s"], values["d"]):
            continue
        candidates = in_range(op, values) if search_in else [values["in"]]
        for m in candidates:
            values["in"] = m
            got = output_size(op, values, ceil)
            if got is None:
                continue
            if "out" in unknowns or got == values["out"]:
                solution = {n: (got if n == "out" else values[n]) for n in unknowns}
                if len(found) < MAX_LISTED:
                    found.append(solution)
                else:
                    more += 1
            else:
                reachable.add(got)
    note = ""
    if search_in and op != "convT" and not ceil and "p_total" not in given and {"k", "s", "d"} & set(unknowns):
        # the input grows with the kernel, the stride or the dilation: a family without end, said as one
        free = [n for n in unknowns if n != "in"]
        note = Note("infinitely many: {family}, for every {free} ≥ 1 (with in ≥ 1); the first few are listed",
                    family=input_family(known, unknowns), free=", ".join(free))
        found, more = found[:MAX_FAMILY_LISTED], 0
    if not found:
        target = known.get("out")
        near = sorted(reachable, key=lambda v: (abs(v - target), v))[:2] if target is not None else []
        nearest = (Note("; the nearest reachable size is {size}", size=near[0]) if len(near) == 1 else
                   Note("; the nearest reachable sizes are {low} and {high}", low=min(near), high=max(near)) if near else "")
        note = Note("no solution: with these values the output is never {target}{nearest}", target=target, nearest=nearest)
    return Solution(tuple(unknowns), tuple(found), more, tuple(steps), note)


def count_layers(op: str, given: dict, target_out: int | None, target_rf: int | None, ceil: bool = False) -> Solution:
    """The smallest number of copies of one layer after which the size is `target_out`, or the
    receptive field's size is at least `target_rf`."""
    check_known({**given, "out": target_out})
    if target_rf is not None and (type(target_rf) is not int or not 1 <= target_rf <= 1 << 40):
        raise ConvcalcError(Note("--rf: must be an integer from 1 to {value:,}, got {value2}", value=1 << 40, value2=quote(target_rf)))
    unknown = [n for n, x in given.items() if x is None]
    if unknown:
        raise ConvcalcError(Note("--layers ?: the count is the one unknown; give --{replace}, got ?", replace=unknown[0].replace('_', '-')))
    v = {"d": 1, "p": 0, "output_padding": 0, **{n: x for n, x in given.items() if x is not None}}
    v.setdefault("s", 1 if op in ("conv", "convT") else v.get("k"))
    for name in ("k",):
        if name not in v:
            raise ConvcalcError(Note("--{name}: the layer to repeat needs its kernel size, got none", name=name))
    if (target_out is None) == (target_rf is None):
        raise ConvcalcError(Note("--layers ?: give the target as --out (a size) or --rf (a receptive-field size), got {value}", value='both' if target_out else 'neither'))
    size = v.get("in")
    if target_out is not None and size is None:
        raise ConvcalcError(Note("--layers ?: counting layers to an output size needs --in, got none"))
    field = ReceptiveField.of_input(1)
    k_eff = v["d"] * (v["k"] - 1) + 1
    window = conv_window(k_eff, v["s"], v["p"])
    sizes = [size]
    steps = []
    for layers in range(1, MAX_LAYERS + 1):
        if size is not None:
            nxt = output_size(op, {**v, "in": size}, ceil)
            if nxt is None:
                return Solution(("layers",), (), 0, tuple(trail(sizes)), Note(
                    "no solution: after {layers} layers the size is {size}, too small for the next layer ({target} not reached)",
                    layers=layers - 1, size=size, target=quote(target_out if target_out is not None else target_rf)))
            if target_out is not None and size != target_out and (
                    (nxt - target_out) * (size - target_out) < 0 or abs(nxt - target_out) >= abs(size - target_out)):
                how = (N_("no solution: this layer keeps the size at {size}") if nxt == size else
                       N_("no solution: this layer takes the size from {size} to {next}, past {target}")
                       if (nxt - target_out) * (size - target_out) < 0 else
                       N_("no solution: this layer takes the size from {size} to {next}, away from {target}"))
                return Solution(("layers",), (), 0, tuple(trail(sizes + [nxt])), Note(how, size=size, next=nxt, target=target_out))
            size = nxt
            sizes.append(size)
        previous_r = field.axes[0].size
        field = field.advance((window,))
        r = field.axes[0].size
        if target_out is not None and size == target_out:
            steps = trail(sizes) + [_("{layers} layers").format(layers=layers)]
            return Solution(("layers",), ({"layers": layers},), 0, tuple(steps))
        if target_rf is not None and r >= target_rf:
            j = window.step
            steps = [_("r = 1 + L·(K̂ − 1)·j per layer with K̂ = {k}").format(k=k_eff)
                     + (_(", j multiplied by {j} each layer").format(j=j) if j != 1 else ", j = 1"),
                     _("after {before} layers r = {previous} < {target}; after {layers}: r = {r} ≥ {target}").format(
                         before=layers - 1, previous=previous_r, target=target_rf, layers=layers, r=r)]
            if j == 1:
                steps = [f"r = 1 + L·(K̂ − 1) = 1 + L·{k_eff - 1} ≥ {target_rf} ⇔ L ≥ ({target_rf} − 1)/{k_eff - 1} "
                         f"= {target_rf - 1}/{k_eff - 1} ⇒ L = {layers}" if k_eff > 1 else _("r stays 1")]
            return Solution(("layers",), ({"layers": layers},), 0, tuple(steps))
        if target_rf is not None and k_eff == 1 and window.step == 1:
            return Solution(("layers",), (), 0, (), Note("no solution: a 1×1 layer with stride 1 never widens the receptive field"))
    return Solution(("layers",), (), 0, (), Note("no solution within {layers:,} layers", layers=MAX_LAYERS))


def trail(sizes: list) -> list[str]:
    shown = sizes if len(sizes) <= 12 else sizes[:6] + ["…"] + sizes[-3:]
    return [_("size after each layer: {sizes}").format(sizes=" → ".join(map(str, shown)))]
