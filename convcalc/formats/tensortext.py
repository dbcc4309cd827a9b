"""Tensors as the course notes write them, for `compute --x/--w/--bias/--let`: the small part of PyTorch and NumPy
the notes use to make a tensor, read by a safe evaluator — the text is parsed by Python's own parser (`ast`) and
walked here; nothing is ever run as Python.

    X = torch.ones((6, 8)); X[:, 2:6] = 0          statements, `;` or new lines; the value is the last expression,
                                                   else the name assigned last
    torch.tensor([[1/3, 1/3, 1/3]])                 numbers exact: 1/3 stays a third, 0.1 is 1/10
    torch.arange(9.0).reshape(3, 3)   X.t()   X.T   torch.eye(8)   torch.zeros(2, 3)   torch.full((2, 2), 5)
    torch.stack((K, K + 1, K + 2), 0)   torch.cat((A, B), dim=1)   np.array(…)   np.concatenate(…, axis=0)
    + − * / with numbers and with tensors (NumPy's broadcasting), names given by --let K='…'

Bounds: every tensor holds at most MAX_TENSOR_VALUES values (checked before it is made), every number is exact
within a magnitude of 2^53 and 30 decimal places where it is written, and a result whose fractions outgrow 2^200
is refused.
"""

from __future__ import annotations

import ast
from fractions import Fraction
from math import prod
from ..core.errors import SpecError, quote
from ..core.limits import MAX_INT, MAX_TENSOR_VALUES, MAX_TENSOR_WORK
from ..core.messages import N_, Note
from ..core.tensors import Tensor

MODULES = ("torch", "np", "numpy")
BITS = 200  # a numerator or denominator longer than this is refused: the values have left what a course computes


def evaluate(text: str, flag: str, names: dict | None = None):
    """The value `text` gives: nested lists of ints and Fractions (a tensor), or a number."""
    value = Reader(text, flag, dict(names or {})).run()
    return value.nested() if isinstance(value, Tensor) else value


def evaluate_names(definitions: list[str], flag: str = "--let") -> dict:
    """--let K='…' (repeatable, in order): each name's value, seen by the later ones and by --x, --w and --bias."""
    names: dict = {}
    for definition in definitions:
        name, equals, text = definition.partition("=")
        name, text = name.strip(), text.strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":  # K='…' quoted once more than the shell takes
            text = text[1:-1]
        if not equals or not name.isidentifier() or name in MODULES:
            raise SpecError(Note("{flag}: write NAME='value', such as K='torch.eye(3)', got {value}", flag=flag, value=quote(definition)))
        names[name] = Reader(text, f"{flag} {name}", names).run()
    return names


class Reader:
    def __init__(self, text: str, flag: str, names: dict):
        self.text, self.flag, self.names = text, flag, names
        self.work = 0  # values made so far: a long program of large tensors stops at MAX_TENSOR_WORK

    def fail(self, template: str, node=None, **values):
        """One error line naming the flag, what is wrong, and the part of the text it is about."""
        got = ast.get_source_segment(self.text, node) if node is not None else None
        raise SpecError(Note(template, flag=self.flag, value=quote(got if got else self.text), **values))

    def run(self):
        try:
            tree = ast.parse(self.text, mode="exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            reason = getattr(error, "msg", None) or type(error).__name__
            raise SpecError(Note("{flag}: not a tensor as PyTorch or NumPy writes it ({reason}), got {value}", flag=self.flag,
                                 reason=reason, value=quote(self.text))) from None
        if not tree.body:
            self.fail(N_("{flag}: no value, got {value}"))
        last = None
        for statement in tree.body:
            if isinstance(statement, ast.Expr):
                last = self.value(statement.value)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                value = self.value(statement.value)
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    if target.id in MODULES:
                        self.fail(N_("{flag}: {name} is a module, not a name to assign, got {value}"), target, name=target.id)
                    self.names[target.id] = value
                    last = value
                elif isinstance(target, ast.Subscript):
                    last = self.assign(target, value)
                else:
                    self.fail(N_("{flag}: assign to a name or to a slice (X[:, 2:6] = 0), got {value}"), target)
            else:
                self.fail(N_("{flag}: only assignments and expressions, got {value}"), statement)
        return last

    # --- values ---------------------------------------------------------------------------------

    def value(self, node):
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.value(node.operand)
            return value if isinstance(node.op, ast.UAdd) else self.arith(value, -1, ast.Mult(), node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            return self.arith(self.value(node.left), self.value(node.right), node.op, node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.value(item) for item in node.elts]
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                known = ", ".join(sorted(self.names)) or "none"
                self.fail(N_("{flag}: unknown name {name} (names given: {known}; --let {name}='…' gives one), got {value}"), node, name=node.id, known=known)
            return self.names[node.id]
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return transpose(self.array(self.value(node.value), node.value), node, self)
        if isinstance(node, ast.Subscript):
            array = self.array(self.value(node.value), node.value)
            return self.index(array, node.slice, node)
        if isinstance(node, ast.Call):
            return self.call(node)
        self.fail(N_("{flag}: not part of what a tensor is written with here (numbers, lists, torch/np functions, + − * /), got {value}"), node)

    def number(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(N_("{flag}: a number or a tensor, got {value}"), node)
        text = ast.get_source_segment(self.text, node) or repr(value)
        from .yamlread import exact_decimal

        try:
            number = exact_decimal(text.replace("_", ""), "")
        except SpecError:
            self.fail(N_("{flag}: a number beyond the exact range (a magnitude up to 2^53, at most 30 decimal places), got {value}"), node)
        return int(number) if number.denominator == 1 else number

    def array(self, value, node) -> Tensor:
        """A tensor from a value: a nested list of numbers becomes one (as torch.tensor would take it)."""
        if isinstance(value, Tensor):
            return value
        if isinstance(value, (int, Fraction)):
            return Tensor((), (value,))
        shape, level = [], value
        while isinstance(level, list):
            if not level:
                self.fail(N_("{flag}: an empty list has no values, got {value}"), node)
            shape.append(len(level))
            level = level[0]
        self.check_size(shape, node)
        flat: list = []

        def walk(item, axis):
            if axis == len(shape):
                if isinstance(item, Tensor) and item.shape == ():
                    item = item.values[0]
                if not isinstance(item, (int, Fraction)):
                    self.fail(N_("{flag}: every value of a tensor is a number, got {value}"), node)
                flat.append(item)
                return
            if isinstance(item, Tensor):
                item = item.nested()
            if not isinstance(item, list) or len(item) != shape[axis]:
                self.fail(N_("{flag}: rows must all have the same length, got {value}"), node)
            for child in item:
                walk(child, axis + 1)

        walk(value, 0)
        return Tensor(tuple(shape), tuple(flat))

    def check_size(self, shape, node) -> None:
        total = 1
        for size in shape:
            if not isinstance(size, int) or size < 0:
                self.fail(N_("{flag}: a size is a whole number ≥ 0, got {value}"), node)
            total *= size
            if total > MAX_TENSOR_VALUES:
                self.fail(N_("{flag}: a tensor holds at most {most:,} values, got {value}"), node, most=MAX_TENSOR_VALUES)
        self.work += total
        if self.work > MAX_TENSOR_WORK:
            self.fail(N_("{flag}: the statements make more than {most:,} values in all (a worked example is smaller), got "
                         "{value}"), node, most=MAX_TENSOR_WORK)

    def arith(self, left, right, op, node):
        def one(a, b):
            if isinstance(op, ast.Div) and b == 0:
                self.fail(N_("{flag}: a division by zero, got {value}"), node)
            result = a + b if isinstance(op, ast.Add) else a - b if isinstance(op, ast.Sub) else a * b if isinstance(op, ast.Mult) else Fraction(a) / b
            if isinstance(result, Fraction):
                if result.numerator.bit_length() > BITS or result.denominator.bit_length() > BITS:
                    self.fail(N_("{flag}: values beyond the exact range, got {value}"), node)
                return int(result) if result.denominator == 1 else result
            if result.bit_length() > BITS:
                self.fail(N_("{flag}: values beyond the exact range, got {value}"), node)
            return result

        if isinstance(left, (int, Fraction)) and isinstance(right, (int, Fraction)):
            return one(left, right)
        a, b = self.array(left, node), self.array(right, node)
        shape = broadcast(a.shape, b.shape)
        if shape is None:
            self.fail(N_("{flag}: shapes {left} and {right} do not broadcast, got {value}"), node, left="×".join(map(str, a.shape)) or "()",
                      right="×".join(map(str, b.shape)) or "()")
        self.check_size(shape, node)
        return Tensor(shape, tuple(one(x, y) for x, y in zip(spread(a, shape), spread(b, shape))))

    # --- indexing -------------------------------------------------------------------------------

    def selection(self, array: Tensor, index_node, node) -> list[list[int]]:
        """The positions an index picks on each axis, and whether each axis stays (a slice) or goes (a number)."""
        items = index_node.elts if isinstance(index_node, ast.Tuple) else [index_node]
        if len(items) > len(array.shape):
            self.fail(N_("{flag}: more indices than axes ({axes}), got {value}"), node, axes=len(array.shape))
        picks, kept = [], []
        for axis, item in enumerate(items):
            size = array.shape[axis]
            if isinstance(item, ast.Slice):
                bounds = [None if part is None else self.integer(part) for part in (item.lower, item.upper, item.step)]
                if bounds[2] == 0:
                    self.fail(N_("{flag}: a slice's step is never 0, got {value}"), node)
                picks.append(list(range(size))[slice(*bounds)])
                kept.append(True)
            else:
                i = self.integer(item)
                if not -size <= i < size:
                    self.fail(N_("{flag}: index {i} is outside an axis of {size}, got {value}"), node, i=i, size=size)
                picks.append([i % size])
                kept.append(False)
        for axis in range(len(items), len(array.shape)):
            picks.append(list(range(array.shape[axis])))
            kept.append(True)
        return picks, kept

    def integer(self, node) -> int:
        value = self.value(node)
        if not isinstance(value, int):
            self.fail(N_("{flag}: an index is a whole number, got {value}"), node)
        return value

    def index(self, array: Tensor, index_node, node):
        picks, kept = self.selection(array, index_node, node)
        self.check_size([len(p) for p in picks], node)
        positions = offsets(array.shape, picks)
        shape = tuple(len(p) for p, k in zip(picks, kept) if k)
        values = tuple(array.values[i] for i in positions)
        return values[0] if not shape else Tensor(shape, values)

    def assign(self, target, value):
        if not isinstance(target.value, ast.Name) or target.value.id not in self.names:
            self.fail(N_("{flag}: assign into a tensor named before (X = torch.ones(…) first), got {value}"), target)
        array = self.array(self.names[target.value.id], target.value)
        picks, kept = self.selection(array, target.slice, target)
        self.check_size(array.shape, target)  # the tensor is copied with its slice replaced
        positions = offsets(array.shape, picks)
        shape = tuple(len(p) for p, k in zip(picks, kept) if k)
        given = self.array(value, target)
        if broadcast(given.shape, shape) != shape:
            self.fail(N_("{flag}: a value of shape {given} does not fit a slice of shape {shape}, got {value}"), target,
                      given="×".join(map(str, given.shape)) or "()", shape="×".join(map(str, shape)) or "()")
        values = list(array.values)
        for position, v in zip(positions, spread(given, shape)):
            values[position] = v
        self.names[target.value.id] = Tensor(array.shape, tuple(values))
        return self.names[target.value.id]

    # --- functions and methods ------------------------------------------------------------------

    def call(self, node):
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in MODULES:
            return self.function(func.attr, node.args, keywords, node)
        if isinstance(func, ast.Attribute):
            return self.method(self.array(self.value(func.value), func.value), func.attr, node.args, keywords, node)
        self.fail(N_("{flag}: call torch.… or np.… functions, or a tensor's methods, got {value}"), node)

    def shape_of(self, args, node) -> tuple[int, ...]:
        """ones(2, 3), ones((2, 3)), ones([2, 3])."""
        values = [self.value(a) for a in args]
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        if not values or not all(isinstance(v, int) and v >= 0 for v in values):
            self.fail(N_("{flag}: a shape is one or more whole numbers, got {value}"), node)
        self.check_size(values, node)
        return tuple(values)

    def axis_of(self, args, keywords, node, position: int) -> int:
        given = keywords.get("dim", keywords.get("axis"))
        if given is None and len(args) > position:
            given = args[position]
        return 0 if given is None else self.integer(given)

    def function(self, name: str, args, keywords, node):
        if name in ("tensor", "Tensor", "array", "asarray", "as_tensor"):
            if len(args) != 1:
                self.fail(N_("{flag}: {name} takes the values, got {value}"), node, name=name)
            return self.array(self.value(args[0]), node)
        if name in ("ones", "zeros"):
            shape = self.shape_of(args, node)
            return Tensor(shape, (1 if name == "ones" else 0,) * prod(shape))
        if name in ("ones_like", "zeros_like"):
            shape = self.array(self.value(args[0]), node).shape
            return Tensor(shape, (1 if name == "ones_like" else 0,) * prod(shape))
        if name == "full":
            if len(args) != 2:
                self.fail(N_("{flag}: full takes a shape and a value, got {value}"), node)
            shape, fill = self.shape_of(args[:1], node), self.value(args[1])
            if not isinstance(fill, (int, Fraction)):
                self.fail(N_("{flag}: full's value is a number, got {value}"), node)
            return Tensor(shape, (fill,) * prod(shape))
        if name in ("eye", "identity"):
            sizes = [self.integer(a) for a in args[:2]]
            if not sizes or min(sizes) < 0:
                self.fail(N_("{flag}: eye takes n (and m), got {value}"), node)
            n, m = sizes[0], sizes[-1]
            self.check_size((n, m), node)
            return Tensor((n, m), tuple(1 if i == j else 0 for i in range(n) for j in range(m)))
        if name == "arange":
            bounds = [self.value(a) for a in args]
            if not 1 <= len(bounds) <= 3 or not all(isinstance(b, (int, Fraction)) for b in bounds):
                self.fail(N_("{flag}: arange takes end, or start, end and step, got {value}"), node)
            start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds, 1)[:3]
            if step == 0:
                self.fail(N_("{flag}: arange's step is never 0, got {value}"), node)
            count = max(0, -(-(end - start) // step))
            self.check_size((count,), node)
            return Tensor((count,), tuple(start + i * step for i in range(count)))
        if name in ("stack", "cat", "concatenate", "concat", "vstack", "hstack"):
            if not args:
                self.fail(N_("{flag}: {name} takes a list of tensors, got {value}"), node, name=name)
            parts = self.value(args[0])
            if not isinstance(parts, list) or not parts:
                self.fail(N_("{flag}: {name} takes a list of tensors, got {value}"), node, name=name)
            arrays = [self.array(p, args[0]) for p in parts]
            axis = {"vstack": 0, "hstack": 1}.get(name) if name in ("vstack", "hstack") else self.axis_of(args, keywords, node, 1)
            return join(arrays, axis, name == "stack", node, self)
        if name in ("transpose", "t"):
            return transpose(self.array(self.value(args[0]), node), node, self)
        if name == "reshape":
            return self.method(self.array(self.value(args[0]), node), "reshape", args[1:], keywords, node)
        self.fail(N_("{flag}: {module}.{name} is not among the functions read here (tensor, ones, zeros, full, eye, arange, stack, cat), got {value}"),
                  node, module=node.func.value.id, name=name)

    def method(self, array: Tensor, name: str, args, keywords, node):
        if name in ("t", "transpose") and len(args) in (0, 2):
            if args and sorted(self.integer(a) % max(len(array.shape), 1) for a in args) != [0, 1]:
                self.fail(N_("{flag}: transpose swaps the two axes of a matrix, got {value}"), node)
            return transpose(array, node, self)
        if name in ("reshape", "view"):
            sizes = [self.value(a) for a in args]
            if len(sizes) == 1 and isinstance(sizes[0], list):
                sizes = sizes[0]
            if not all(isinstance(s, int) for s in sizes) or sum(1 for s in sizes if s == -1) > 1 or any(s < -1 for s in sizes):
                self.fail(N_("{flag}: reshape takes whole sizes, at most one of them -1, got {value}"), node)
            known = prod(s for s in sizes if s != -1)
            if -1 in sizes:
                if known == 0 or len(array.values) % known:
                    self.fail(N_("{flag}: no size fits -1, got {value}"), node)
                sizes = [len(array.values) // known if s == -1 else s for s in sizes]
            if prod(sizes) != len(array.values):
                self.fail(N_("{flag}: {count} values do not make a shape of {shape}, got {value}"), node, count=len(array.values),
                          shape="×".join(map(str, sizes)))
            return Tensor(tuple(sizes), array.values)
        if name in ("float", "double", "clone", "copy", "detach", "numpy", "int", "long", "contiguous", "astype"):
            return array
        if name in ("unsqueeze", "squeeze", "flatten"):
            if name == "flatten":
                return Tensor((len(array.values),), array.values)
            axis = self.integer(args[0]) if args else None
            shape = list(array.shape)
            if name == "unsqueeze":
                if axis is None or not -len(shape) - 1 <= axis <= len(shape):
                    self.fail(N_("{flag}: unsqueeze takes an axis, got {value}"), node)
                shape.insert(axis % (len(shape) + 1), 1)
            elif axis is None:
                shape = [s for s in shape if s != 1]
            elif -len(shape) <= axis < len(shape) and shape[axis] == 1:
                del shape[axis]
            return Tensor(tuple(shape), array.values)
        self.fail(N_("{flag}: the method {name} is not among those read here (reshape, t, T, float, unsqueeze, squeeze, flatten), got {value}"), node,
                  name=name)


def broadcast(a: tuple, b: tuple) -> tuple | None:
    shape = []
    for x, y in zip(((1,) * (len(b) - len(a)) + a), ((1,) * (len(a) - len(b)) + b)):
        if x != y and 1 not in (x, y):
            return None
        shape.append(max(x, y))
    return tuple(shape)


def spread(array: Tensor, shape: tuple):
    """The array's values read at every position of `shape` (broadcasting)."""
    own = (1,) * (len(shape) - len(array.shape)) + array.shape
    strides, step = [], 1
    for size in reversed(own):
        strides.append(step if size != 1 else 0)
        step *= size
    strides.reverse()
    for position in range(prod(shape)):
        offset, rest = 0, position
        for axis in range(len(shape) - 1, -1, -1):
            rest, i = divmod(rest, shape[axis])
            offset += i * strides[axis]
        yield array.values[offset]


def offsets(shape: tuple, picks: list[list[int]]) -> list[int]:
    positions = [0]
    for axis, chosen in enumerate(picks):
        step = prod(shape[axis + 1:])
        positions = [p + i * step for p in positions for i in chosen]
    return positions


def transpose(array: Tensor, node, reader: Reader) -> Tensor:
    if len(array.shape) == 1:
        return array
    if len(array.shape) != 2:
        reader.fail(N_("{flag}: t() and T transpose a matrix, not a tensor of {rank} axes, got {value}"), node, rank=len(array.shape))
    rows, cols = array.shape
    reader.check_size(array.shape, node)
    return Tensor((cols, rows), tuple(array.values[r * cols + c] for c in range(cols) for r in range(rows)))


def join(arrays: list[Tensor], axis: int, new: bool, node, reader: Reader) -> Tensor:
    """torch.stack (a new axis) or torch.cat (along an existing one)."""
    first = arrays[0].shape
    rank = len(first) + (1 if new else 0)
    if not -rank <= axis < rank:
        reader.fail(N_("{flag}: the axis {axis} is outside {rank} axes, got {value}"), node, axis=axis, rank=rank)
    axis %= rank
    if new:
        if any(a.shape != first for a in arrays):
            reader.fail(N_("{flag}: stacked tensors have one shape, got {value}"), node)
        arrays = [Tensor(first[:axis] + (1,) + first[axis:], a.values) for a in arrays]
    base = arrays[0].shape
    if any(len(a.shape) != len(base) or a.shape[:axis] + a.shape[axis + 1:] != base[:axis] + base[axis + 1:] for a in arrays):
        reader.fail(N_("{flag}: joined tensors agree on every axis but the one they join along, got {value}"), node)
    shape = base[:axis] + (sum(a.shape[axis] for a in arrays),) + base[axis + 1:]
    reader.check_size(shape, node)
    outer, values = prod(base[:axis]), []
    for o in range(outer):
        for a in arrays:
            block = prod(a.shape[axis:])
            values.extend(a.values[o * block:(o + 1) * block])
    return Tensor(shape, tuple(values))


assert MAX_INT < 2**BITS
