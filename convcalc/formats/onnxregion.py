"""Attention in an ONNX graph, read as a whole.

An exporter writes attention as reshapes, transposes and matrix products between two activations,
through tensors of five axes whose first is not the batch: nothing convcalc's layouts follow node
by node. So the exporter's module scope around such a product (`/encoder/layers/encoder_layer_0/
self_attention`, Swin's `.../attn`, MaxViT's `.../attn_layer.1`) is read as one region: the real
tensors' shapes inferred operator by operator (small integer tensors — shapes, indices — worked out
on the way), MACs the matrix products inside it (batch·M·K·N each, as convcalc counts a product),
parameters and buffers the initializers it reads. A region with more than one input or output, or
an operator whose shape cannot be inferred here, is not a region: its nodes are read one by one.
"""

from __future__ import annotations

from math import ceil, prod

from ..core.formulas import resolve_sizes

SMALL_VALUES = 4096  # elements: a tensor this small keeps its values (a shape, indices); larger, only its shape
ELEMENTWISE = {"Identity", "Cast", "Dropout", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Relu", "Sigmoid", "Tanh", "Softmax",
               "Not", "Clip", "Reciprocal", "LayerNormalization", "Floor", "Ceil", "Gelu", "LeakyRelu", "HardSigmoid",
               "HardSwish", "ScatterND", "IsNaN", "Sign", "Round"}
SMALL_BITS = 64  # an integer worked out here fits ONNX's int64; past it (a hostile chain of products) it is not worked out


def divide(a, b):
    """ONNX's Div: integers truncate toward zero (as C does), exactly; floats divide."""
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a < 0) == (b < 0) else -quotient
    return a / b


def power(a, b):
    if isinstance(a, int) and isinstance(b, int) and (b < 0 or b * max(abs(a).bit_length(), 1) > SMALL_BITS):
        raise OverflowError  # 10^(10^18) is never computed
    return a ** b


BROADCAST = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b, "Div": divide,
             "Mod": lambda a, b: a % b, "Pow": power, "Equal": lambda a, b: int(a == b),
             "Less": lambda a, b: int(a < b), "Greater": lambda a, b: int(a > b), "And": lambda a, b: int(a and b),
             "Or": lambda a, b: int(a or b), "Max": max, "Min": min}
PRODUCTS = ("MatMul", "Gemm", "Einsum")


class Unknown(Exception):
    """A shape this module cannot infer: the region is read node by node instead."""


def activations(graph, input_name: str) -> set[str]:
    """The values computed from the graph's input."""
    found = {input_name}
    for node in graph.nodes:
        if any(i in found for i in node.inputs):
            found.update(o for o in node.outputs if o)
    return found


def find_regions(graph, input_name: str) -> dict[str, list]:
    """scope → its nodes, for every scope that holds a product of two activations, or strided views of one
    (Swin's patch merging: x[..., 0::2, 0::2, :] and its three neighbours, concatenated). Linear in the graph's
    size: the regions' spans together stay within twice the number of nodes (a hostile file gets none)."""
    active = activations(graph, input_name)
    constants = {n.outputs[0]: n.attrs.get("value") for n in graph.nodes if n.op == "Constant" and n.outputs}
    scopes: dict[str, None] = {}
    for node in graph.nodes:
        product = node.op in ("MatMul", "Einsum") and sum(i in active for i in node.inputs) >= 2
        steps = constants.get(node.inputs[4]) if node.op == "Slice" and len(node.inputs) > 4 else None
        strided = node.inputs and node.inputs[0] in active and any(v != 1 for v in (getattr(steps, "values", None) or [1]))
        if (product or strided) and "/" in node.name.strip("/"):
            scopes.setdefault(node.name.rpartition("/")[0])
    outer = {s for s in scopes if not any(p in scopes for p in prefixes(s))}  # a region inside another: the outer one
    members: dict[str, list[int]] = {}
    for index, node in enumerate(graph.nodes):
        scope = next((p for p in prefixes(node.name) if p in outer), None)
        if scope is not None:
            members.setdefault(scope, []).append(index)
    found, budget = {}, 2 * len(graph.nodes)
    for scope, inside in members.items():
        budget -= inside[-1] - inside[0] + 1
        if budget < 0:
            break
        # with the nodes the exporter left without a scope in between (Swin's attention mask, built from x's shape)
        found[scope] = [n for n in graph.nodes[inside[0]:inside[-1] + 1] if n.name.startswith(scope + "/") or not n.name.startswith("/")]
    return found


def prefixes(name: str, depth: int = 32):
    """The scopes a node's name lies in, outermost first (`/a`, `/a/b` of `/a/b/MatMul`), the first `depth` of them."""
    end = 0
    for _level in range(depth):
        end = name.find("/", end + 1)
        if end < 0:
            return
        yield name[:end]


def broadcast(*shapes) -> tuple:
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise Unknown
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def matmul(a: tuple, b: tuple) -> tuple[tuple, int]:
    """numpy's matmul: the output shape and its multiply-adds."""
    a2, b2 = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise Unknown
    batch = broadcast(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    macs = prod(batch) * a2[-2] * a2[-1] * b2[-1]
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out, macs


def einsum(equation: str, shapes: list) -> tuple[tuple, int]:
    """The output shape and the multiply-adds of a contraction, every index size multiplied once."""
    left, _arrow, right = equation.replace(" ", "").partition("->")
    terms = left.split(",")
    if not _arrow or len(terms) != len(shapes) or any(len(t) != len(s) or "." in t for t, s in zip(terms, shapes)):
        raise Unknown
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        for letter, size in zip(term, shape):
            if sizes.setdefault(letter, size) != size and size != 1:
                raise Unknown
    return tuple(sizes[x] for x in right), prod(sizes.values())


def strides(shape) -> list[int]:
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= size
    return out[::-1]


def take(values: list, shape: tuple, axis: int, kept) -> list:
    """The flat values of a small tensor with only the `kept` indices of one axis."""
    outer, inner = prod(shape[:axis]), prod(shape[axis + 1:])
    return [values[(o * shape[axis] + k) * inner + i] for o in range(outer) for k in kept for i in range(inner)]


def transposed(values: list, shape: tuple, perm: list[int]) -> list:
    old = strides(shape)
    new_shape = [shape[p] for p in perm]
    result = []
    for flat in range(prod(shape)):
        index, rest = [], flat
        for step in strides(new_shape):
            index.append(rest // step)
            rest %= step
        result.append(values[sum(index[k] * old[p] for k, p in enumerate(perm))])
    return result


class Region:
    """One scope's nodes, shapes inferred from its input's real shape."""

    def __init__(self, nodes, constants: dict, initializers: dict, float_types):
        self.nodes, self.constants, self.initializers, self.float_types = nodes, constants, initializers, float_types
        self.shapes: dict[str, tuple] = {}
        self.values: dict[str, list] = {}

    def known(self, name: str) -> bool:
        """Whether a value's shape is known: worked out here, or a constant of the graph (looked up when read)."""
        if name in self.shapes:
            return True
        tensor = self.constants.get(name)
        if tensor is None:
            return False
        dims, values = getattr(tensor, "dims", None), tensor.values
        self.shapes[name] = tuple(dims) if dims is not None else (len(values),) if values is not None else ()
        if values is not None:
            self.values[name] = list(values)
        return True

    def has_values(self, name: str) -> bool:
        return self.known(name) and name in self.values

    def edges(self, active: set, consumers: dict) -> tuple[list[str], list[str]]:
        """The activations it reads from outside, and the values it gives to nodes outside or to the graph."""
        made = {o for n in self.nodes for o in n.outputs if o}
        inputs = list(dict.fromkeys(i for n in self.nodes for i in n.inputs if i in active and i not in made))
        inside = {id(n) for n in self.nodes}
        outputs = [o for o in dict.fromkeys(o for n in self.nodes for o in n.outputs if o and o in active)
                   if consumers.get(o, set()) - inside or consumers.get(o) is None]
        return inputs, outputs

    def infer(self, source: str, real: tuple) -> tuple[int, int, int]:
        """(parameters, buffers, MACs), the shapes of every value noted."""
        self.shapes[source] = tuple(real)
        params = buffers = macs = 0
        for node in self.nodes:
            for name in node.inputs:
                tensor = self.initializers.get(name)
                if tensor is not None and prod(tensor.dims) > 1:
                    if tensor.dtype in self.float_types:
                        params += prod(tensor.dims)
                    else:
                        buffers += prod(tensor.dims)
            macs += self.node(node)
        return params, buffers, macs

    def shape(self, name: str) -> tuple:
        if not self.known(name):
            raise Unknown
        return self.shapes[name]

    def value(self, name: str) -> list:
        if not self.has_values(name):
            raise Unknown
        return self.values[name]

    def set(self, name: str, shape: tuple, values=None) -> None:
        self.shapes[name] = tuple(shape)
        if values is not None and prod(shape) <= SMALL_VALUES and len(values) == prod(shape):
            self.values[name] = list(values)

    def node(self, node) -> int:
        """Notes the outputs' shapes (and small values); returns the node's multiply-adds."""
        if getattr(node, "domain", "") not in ("", "ai.onnx"):
            raise Unknown  # another domain's operator: not ONNX's, whatever its name
        op, a, ins, out = node.op, node.attrs, node.inputs, node.outputs[0] if node.outputs else ""
        if op == "Constant":
            value = a.get("value")
            if value is None or getattr(value, "dims", None) is None:
                raise Unknown
            self.set(out, tuple(value.dims), value.values)
        elif op in ELEMENTWISE:
            values = self.values.get(ins[0]) if op in ("Identity", "Cast") and self.has_values(ins[0]) else None
            self.set(out, self.shape(ins[0]), values)
        elif op in BROADCAST:
            shapes = [self.shape(i) for i in ins]
            shape = broadcast(*shapes)
            values = None
            if all(self.has_values(i) for i in ins) and prod(shape) <= SMALL_VALUES and all(len(s) <= 1 for s in shapes):
                left, right = (self.values[i] for i in ins)
                left, right = (left * len(right) if len(left) == 1 else left), (right * len(left) if len(right) == 1 else right)
                try:
                    values = [BROADCAST[op](x, y) for x, y in zip(left, right)]
                except (ZeroDivisionError, OverflowError):
                    raise Unknown from None
                if any(isinstance(v, int) and v.bit_length() > SMALL_BITS for v in values):
                    raise Unknown
            self.set(out, shape, values)
        elif op == "Where":
            shape = broadcast(*(self.shape(i) for i in ins))
            values = None
            if all(self.has_values(i) for i in ins) and len(shape) <= 1:
                c, x, y = (self.values[i] * (prod(shape) if len(self.values[i]) == 1 else 1) for i in ins)
                values = [xv if cv else yv for cv, xv, yv in zip(c, x, y)]
            self.set(out, shape, values)
        elif op == "Shape":
            shape = self.shape(ins[0])
            start, end = int(a.get("start", 0)), a.get("end")
            dims = list(shape[start:end if end is None else int(end)])
            self.set(out, (len(dims),), dims)
        elif op == "Reshape":
            current = self.shape(ins[0])
            shape = resolve_sizes([int(v) for v in self.value(ins[1])], current, zero_copies=not a.get("allowzero"))
            if shape is None:
                raise Unknown
            self.set(out, shape, self.values.get(ins[0]) if self.has_values(ins[0]) else None)
        elif op == "Flatten":
            shape, axis = self.shape(ins[0]), int(a.get("axis", 1))
            axis %= len(shape) if axis < 0 else len(shape) + 1
            self.set(out, (prod(shape[:axis]), prod(shape[axis:])))
        elif op == "Transpose":
            shape = self.shape(ins[0])
            perm = [int(p) for p in a.get("perm") or range(len(shape) - 1, -1, -1)]
            if sorted(perm) != list(range(len(shape))):
                raise Unknown
            values = transposed(self.values[ins[0]], shape, perm) if self.has_values(ins[0]) else None
            self.set(out, tuple(shape[p] for p in perm), values)
        elif op in ("Unsqueeze", "Squeeze"):
            shape = list(self.shape(ins[0]))
            axes = a.get("axes") or (self.value(ins[1]) if len(ins) > 1 and ins[1] else None)
            if op == "Unsqueeze":
                if not axes:
                    raise Unknown
                for axis in sorted(int(x) % (len(shape) + len(axes)) for x in axes):
                    shape.insert(axis, 1)
            else:
                drop = {int(x) % len(shape) for x in axes} if axes else {i for i, v in enumerate(shape) if v == 1}
                shape = [v for i, v in enumerate(shape) if i not in drop]
            self.set(out, tuple(shape), self.values.get(ins[0]) if self.has_values(ins[0]) else None)
        elif op == "Concat":
            shapes = [self.shape(i) for i in ins]
            axis = int(a.get("axis", 0)) % len(shapes[0])
            shape = list(shapes[0])
            shape[axis] = sum(s[axis] for s in shapes)
            values = [v for i in ins for v in self.values[i]] if all(self.has_values(i) for i in ins) and len(shape) == 1 else None
            self.set(out, tuple(shape), values)
        elif op == "Gather":
            data, indices = self.shape(ins[0]), self.shape(ins[1])
            axis = int(a.get("axis", 0)) % len(data)
            values = None
            if axis == 0 and len(data) == 1 and self.has_values(ins[0]) and self.has_values(ins[1]):
                values = [self.values[ins[0]][int(i)] for i in self.values[ins[1]]]
            self.set(out, (*data[:axis], *indices, *data[axis + 1:]), values)
        elif op == "Slice":
            shape = list(self.shape(ins[0]))
            starts, ends = self.value(ins[1]), self.value(ins[2])
            axes = self.value(ins[3]) if len(ins) > 3 and ins[3] else list(range(len(starts)))
            steps = self.value(ins[4]) if len(ins) > 4 and ins[4] else [1] * len(starts)
            values = self.values.get(ins[0]) if self.has_values(ins[0]) else None
            for start, end, axis, step in zip(starts, ends, axes, steps):
                axis = int(axis) % len(shape)
                kept = range(*slice(int(start), int(end), int(step)).indices(shape[axis]))
                if values is not None:
                    values = take(values, tuple(shape), axis, kept)
                shape[axis] = len(kept)
            self.set(out, tuple(shape), values)
        elif op == "Split":
            shape, axis = self.shape(ins[0]), int(a.get("axis", 0)) % len(self.shape(ins[0]))
            sizes = a.get("split") or (self.value(ins[1]) if len(ins) > 1 and ins[1] else None)
            sizes = [int(s) for s in sizes] if sizes else [shape[axis] // len(node.outputs)] * len(node.outputs)
            for name, size in zip(node.outputs, sizes):
                self.set(name, (*shape[:axis], size, *shape[axis + 1:]))
        elif op == "Pad":
            shape = self.shape(ins[0])
            pads = [int(p) for p in (a.get("pads") or self.value(ins[1]))]
            self.set(out, tuple(m + pads[i] + pads[i + len(shape)] for i, m in enumerate(shape)))
        elif op == "Expand":
            self.set(out, broadcast(self.shape(ins[0]), tuple(int(v) for v in self.value(ins[1]))))
        elif op == "ConstantOfShape":
            shape = tuple(int(v) for v in self.value(ins[0]))
            fill = getattr(a.get("value"), "values", None) or [0]
            self.set(out, shape, list(fill) * prod(shape) if prod(shape) <= SMALL_VALUES else None)
        elif op == "Range":
            start, limit, delta = (self.value(i)[0] for i in ins)
            count = max(ceil((limit - start) / delta), 0) if delta else 0
            self.set(out, (count,), [start + k * delta for k in range(count)] if count <= SMALL_VALUES else None)
        elif op in ("ReduceL2", "ReduceMean", "ReduceSum", "ReduceMax"):
            shape = self.shape(ins[0])
            axes = a.get("axes") or (self.value(ins[1]) if len(ins) > 1 and ins[1] else range(len(shape)))
            axes = {int(x) % len(shape) for x in axes}
            keep = int(a.get("keepdims", 1))
            self.set(out, tuple(1 if i in axes else v for i, v in enumerate(shape) if keep or i not in axes))
        elif op == "MatMul":
            shape, macs = matmul(self.shape(ins[0]), self.shape(ins[1]))
            self.set(out, shape)
            return macs
        elif op == "Gemm":
            left, right = self.shape(ins[0]), self.shape(ins[1])
            m, k = left[::-1] if a.get("transA") else left
            k2, n = right[::-1] if a.get("transB") else right
            if k != k2:
                raise Unknown
            self.set(out, (m, n))
            return m * k * n
        elif op == "Einsum":
            shape, macs = einsum(str(a.get("equation", "")), [self.shape(i) for i in ins])
            self.set(out, shape)
            return macs
        else:
            raise Unknown
        return 0
