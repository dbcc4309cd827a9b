"""An ONNX file read as a convcalc network (`convcalc net model.onnx`).

The file is read as protobuf's wire format, directly: the graph's nodes and attributes and the
initializers' names, types and sizes — never their data (a weight's bytes are skipped by their
length, read with pread a chunk at a time, so a 1 GB file costs what its graph costs and a file cut
meanwhile is an error; external data files are never opened). Only a few small integer tensors are
read whole: the shapes, pads, scales and splits that Reshape, Pad, Resize, Split and Slice take as
inputs. No ONNX package is needed.

Before any node is mapped, the graph is checked as ONNX's checker would: tensors hold what their
dimensions say, nodes come in order and without cycles, each value is written once; each node's
weights agree with its attributes and its input (channels, groups, features, the bias). Operators
of other domains are opaque, named with their domain.

Shapes come from convcalc's own formulas, layer by layer, as the graph is mapped; parameters are
the graph's own initializers (an exported model has its BatchNorm folded into the convolutions'
weights and biases). An operator convcalc has no formula for becomes an `opaque` layer, listed.
Attention is read a module scope at a time (onnxregion.py).
"""

from __future__ import annotations

import os
import struct
import sys
from math import prod
from pathlib import Path

from ..core.errors import ConvcalcError, SpecError, quote, shorten
from ..core.formulas import data_move, resolve_sizes
from ..core.limits import MAX_AXES, MAX_GRAPH_NODES, MAX_INT
from ..core.layers import (LRN, AdaptivePool, Conv, ConvTranspose, Elementwise, Flatten, InstanceNorm, Linear, Norm, Opaque, Pad,
                           Pool, Resize, Scale, Slice, Subgraph, ClassToken, PositionEmbedding, Crop)
from ..core.messages import Note
from ..core.network import LayerNode, Network
from .files import open_regular
from .graph import GraphBuilder
from .onnxregion import PRODUCTS, Region, Unknown, activations, find_regions

CHUNK = 1 << 20  # bytes read from the file at a time
SMALL = 4096  # bytes: an integer tensor this small is read (a shape, pads, scales); a weight never is
ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Elu": "elu", "Sigmoid": "sigmoid", "Tanh": "tanh",
               "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Softmax": "softmax", "Gelu": "gelu", "Mish": "mish",
               "Dropout": "dropout", "Identity": "identity"}
ELEMENTWISE = {"Erf", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Cast", "Floor", "Ceil", "Round", "Sign"}
INT_TYPES = {6: "<i", 7: "<q"}  # INT32, INT64
FLOAT_TYPES = {1: "<f", 11: "<d"}  # FLOAT, DOUBLE


class WireError(Exception):
    pass


def varint(buf, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError(Note("the file ends inside a field"))
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError(Note("a malformed field"))


def fields(buf, start: int, end: int):
    """(field number, wire type, value) of one message; a length-delimited value as (start, end)."""
    pos = start
    while pos < end:
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            if pos + length > end:
                raise WireError(Note("the file ends inside a field"))
            value = (pos, pos + length)
            pos += length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        else:
            raise WireError(Note("a field of unknown type {wire}", wire=wire))
        if number == 0 or pos > end:
            raise WireError(Note("a malformed field"))
        yield number, wire, value


def text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


def ints(buf, wire, value) -> list[int]:
    """A repeated int64: packed or one at a time (two's complement for negatives)."""
    if wire == 0:
        return [signed(value)]
    out, pos = [], value[0]
    while pos < value[1]:
        v, pos = varint(buf, pos)
        out.append(signed(v))
    return out


def signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


# bytes per element of ONNX's data types (TensorProto.DataType); 4-bit types hold two per byte
ITEM_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2,
              17: 1, 18: 1, 19: 1, 20: 1, 21: 0.5, 22: 0.5, 23: 0.5}
# the typed fields a tensor's values may be written in: field → (wire format when packed, values per element)
TYPED_FIELDS = {4: ("<f", {1: 1, 14: 2}), 5: ("varint", {}), 7: ("varint", {}), 10: ("<d", {11: 1, 15: 2}), 11: ("varint", {})}


class Tensor:
    """An initializer or constant: its name, type and dimensions; the values only if small (a shape, axes,
    scales). Large data is never read: its elements are counted from its length, to check them against
    the dimensions."""

    __slots__ = ("name", "dims", "dtype", "values", "count", "external")

    def __init__(self, src, span):
        self.name, self.dims, self.dtype, self.values = "", [], 0, None
        self.count, self.external = 0, False  # elements the data holds; whether it lives in another file
        raw = None
        typed: list = []
        for number, wire, value in src.fields(*span):
            if number == 1:
                self.dims += ints(src.read(*value) if wire == 2 else b"", wire, value if wire == 0 else (0, value[1] - value[0]))
            elif number == 2:
                self.dtype = value
            elif number == 8:
                self.name = src.read(*value).decode("utf-8", "replace")
            elif number == 9:
                raw = value
            elif number == 14:
                self.external = self.external or value == 1
            elif number in TYPED_FIELDS:
                typed.append((number, wire, value))
        if any(d < 0 for d in self.dims) or len(self.dims) > MAX_AXES:
            raise WireError(Note("tensor {name} has dimensions {dims}", name=shorten(self.name), dims=quote(self.dims[:8])))
        if raw is not None:
            self.count = -1 if self.dtype not in ITEM_BYTES else int((raw[1] - raw[0]) / ITEM_BYTES[self.dtype])
            if raw[1] - raw[0] <= SMALL and (self.dtype in INT_TYPES or self.dtype in FLOAT_TYPES) and self.count * ITEM_BYTES[self.dtype] == raw[1] - raw[0]:
                fmt = INT_TYPES.get(self.dtype) or FLOAT_TYPES[self.dtype]
                self.values = [v[0] for v in struct.iter_unpack(fmt, src.read(*raw))]
        elif typed:
            self.count, small = 0, sum(v[1] - v[0] if w == 2 else 8 for _, w, v in typed) <= SMALL
            values: list = []
            for number, wire, value in typed:
                fmt, per_element = TYPED_FIELDS[number]
                if wire != 2:  # one value, not packed
                    self.count += 1
                    if small:
                        values.append(signed(value) if wire == 0 else struct.unpack(fmt, value)[0])
                elif fmt == "varint":
                    self.count += varint_count(src, *value)
                    if small:
                        values += ints(src.read(*value), 2, (0, value[1] - value[0]))
                else:
                    self.count += (value[1] - value[0]) // struct.calcsize(fmt)
                    if small:
                        values += [v[0] for v in struct.iter_unpack(fmt, src.read(*value))]
            per = next((p for f, _, _ in typed for t, p in TYPED_FIELDS[f][1].items() if t == self.dtype), 1)
            self.count //= per
            if small and (self.dtype in INT_TYPES or self.dtype in FLOAT_TYPES):
                self.values = values

    @property
    def size(self) -> int:
        return prod(self.dims)

    def holds_its_dims(self) -> bool:
        """Whether the data holds as many elements as the dimensions say (data kept elsewhere is not checked)."""
        return self.external or self.count == -1 or self.count == self.size or (self.count == 0 and self.size == 0)


def varint_count(src, start: int, end: int) -> int:
    """Values in packed varints: one per byte without the continuation bit, counted a chunk at a time."""
    count = 0
    for chunk_start in range(start, end, CHUNK):
        chunk = src.read(chunk_start, min(chunk_start + CHUNK, end))
        count += len(chunk) - len(chunk.translate(None, bytes(range(0x80))))
    return count


class Memory:
    """Bytes held in memory, read as a file is (a node's bytes, with a tensor in an attribute)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end]

    def fields(self, start: int, end: int):
        return fields(self.data, start, end)


class FileSource:
    """The file's bytes, read with pread as they are asked for, a chunk at a time: never mapped, so a file
    truncated while it is read is an error (a short read), not a SIGBUS; a weight's bytes are skipped by
    their length and never read."""

    def __init__(self, fd: int, size: int):
        self.fd, self.size = fd, size
        self.base, self.chunk = 0, b""

    def read(self, start: int, end: int) -> bytes:
        if end > self.size:
            raise WireError(Note("the file ends inside a field"))
        if not (self.base <= start and end <= self.base + len(self.chunk)):
            if end - start > CHUNK:
                return self.exactly(start, end - start)
            self.base, self.chunk = start, self.exactly(start, min(CHUNK, self.size - start))
        return self.chunk[start - self.base:end - self.base]

    def exactly(self, start: int, length: int) -> bytes:
        data = os.pread(self.fd, length, start)
        if len(data) != length:
            raise WireError(Note("the file changed while it was read"))
        return data

    def fields(self, start: int, end: int):
        """fields() of a message in the file: its keys and lengths read, its values left where they are."""
        pos = start
        while pos < end:
            head = self.read(pos, min(pos + 20, end))  # a key and a length take at most 20 bytes
            key, i = varint(head, 0)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = varint(head, i)
            elif wire == 2:
                length, i = varint(head, i)
                value = (pos + i, pos + i + length)
                i += length
            elif wire in (1, 5):
                value = head[i:i + (8 if wire == 1 else 4)]
                i += 8 if wire == 1 else 4
            else:
                raise WireError(Note("a field of unknown type {wire}", wire=wire))
            pos += i
            if number == 0 or pos > end:
                raise WireError(Note("a malformed field"))
            yield number, wire, value


# the attributes this reader reads, and the type ONNX gives each (AttributeProto's INT, INTS, STRING, FLOAT, TENSOR)
ATTRIBUTE_TYPES = {
    **dict.fromkeys(("allowzero", "axis", "ceil_mode", "count_include_pad", "end", "group", "keepdims", "size", "start",
                     "transA", "transB", "blocksize"), int),
    **dict.fromkeys(("axes", "dilations", "kernel_shape", "output_padding", "output_shape", "pads", "perm", "shape", "split",
                     "strides"), list),
    **dict.fromkeys(("auto_pad", "equation", "mode"), str),
    **dict.fromkeys(("alpha", "beta", "epsilon", "bias"), float),
    "value": Tensor,
}
MIN_INPUTS = {"Conv": 2, "ConvTranspose": 2, "Gemm": 2, "MatMul": 2, "BatchNormalization": 5, "InstanceNormalization": 3,
              "LayerNormalization": 2, "Add": 2, "Sub": 2, "Mul": 2, "Div": 2, "Pow": 2, "Gather": 2, "Expand": 2, "Einsum": 1}


def malformed(node, weight=None) -> Note | None:
    """What makes a node other than its operator takes: an attribute of the wrong type, inputs missing.
    None for a well-formed node (an exception while mapping it is then a fault of this reader's)."""
    for name, value in node.attrs.items():
        expected = ATTRIBUTE_TYPES.get(name)
        if expected is None:
            continue
        if expected is float and type(value) is int:
            continue
        if type(value) is not expected or (expected is list and not all(type(v) is int for v in value)):
            return Note("attribute {name} is not of the type ONNX gives it", name=shorten(name))
    wanted = MIN_INPUTS.get(node.op, 1)
    if len(node.inputs) < wanted or not all(node.inputs[:wanted]) or not node.outputs or not node.outputs[0]:
        return Note("{op} takes at least {count} inputs and one output", op=node.op, count=wanted)
    if node.op in WINDOWED:
        return window_problem(node, weight)
    return None


WINDOWED = ("Conv", "ConvTranspose", "MaxPool", "AveragePool")


def window_problem(node, weight) -> Note | None:
    """A sliding window's attributes agree with each other and with the weight: one value per spatial axis
    (two for pads), the kernel the weight's own."""
    a = node.attrs
    kernel = a.get("kernel_shape")
    if node.op in ("Conv", "ConvTranspose") and weight is not None:
        n = len(weight.dims) - 2
        if n < 1 or not all(d > 0 for d in weight.dims):
            return Note("weight {name} is {dims}, not C_o×C_i×K…", name=shorten(weight.name), dims=quote(list(weight.dims)))
        if kernel is not None and list(kernel) != list(weight.dims[2:]):
            return Note("kernel_shape {kernel} disagrees with the weight's kernel {dims}", kernel=quote(kernel),
                        dims=quote(list(weight.dims[2:])))
    else:
        n = len(kernel or ())
        if node.op in ("MaxPool", "AveragePool") and n < 1:
            return Note("{op} needs kernel_shape", op=node.op)
    for name, length in (("kernel_shape", n), ("strides", n), ("dilations", n), ("output_padding", n), ("pads", 2 * n)):
        if name in a and len(a[name]) != length:
            return Note("attribute {name} has {count} values for {axes} spatial axes", name=name, count=len(a[name]), axes=n)
    return None


def foreign(node) -> bool:
    """An operator of a domain other than ONNX's own (a custom `com.example.Conv` is not ONNX's Conv)."""
    return node.domain not in ("", "ai.onnx")


# operators whose other inputs are sizes, scales, indices or bounds, never learned weights
WITHOUT_WEIGHTS = {"Resize", "Upsample", "Pad", "Slice", "Reshape", "Expand", "Tile", "Clip", "Squeeze", "Unsqueeze", "Split",
                   "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "TopK", "CumSum", "Range",
                   "ConstantOfShape", "NonMaxSuppression", "RoiAlign", "GridSample", "OneHot", "Trilu", "Transpose"}
# the inputs (by position) an operator reads as one or two values per axis
AXIS_INPUTS = {"Reshape": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "ReduceMean": (1,), "Resize": (1, 2, 3), "Upsample": (1,),
               "Pad": (1,), "Split": (1,), "Slice": (1, 2, 3, 4), "Expand": (1,), "Tile": (1,)}


class Const:
    """A small tensor worked out while reading (a shape taken with Shape, then gathered or concatenated)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


NO_ATTRIBUTES: dict = {}  # shared by the nodes without attributes (most of a large graph), never written to


class Node:
    __slots__ = ("name", "op", "inputs", "outputs", "attrs", "domain")

    def __init__(self, buf, span):
        inputs, outputs, self.name, self.op, self.attrs, self.domain = [], [], "", "", NO_ATTRIBUTES, ""
        for number, wire, value in fields(buf, *span):
            if number == 1:
                inputs.append(text(buf, value))
            elif number == 2:
                outputs.append(text(buf, value))
            elif number == 3:
                self.name = text(buf, value)
            elif number == 4:
                self.op = sys.intern(text(buf, value))
            elif number == 5:
                name, attr = attribute(buf, value)
                if self.attrs is NO_ATTRIBUTES:
                    self.attrs = {}
                self.attrs[name] = attr
            elif number == 7:
                self.domain = text(buf, value)
        self.inputs, self.outputs = tuple(inputs), tuple(outputs)


def attribute(buf, span):
    name, found = "", None
    listed: list = []
    for number, wire, value in fields(buf, *span):
        if number == 1:
            name = text(buf, value)
        elif number == 2:
            found = struct.unpack("<f", bytes(value))[0]
        elif number == 3:
            found = signed(value)
        elif number == 4:
            found = text(buf, value)
        elif number == 5:
            found = Tensor(Memory(buf), value)
        elif number == 7:
            listed += list(struct.unpack(f"<{(value[1] - value[0]) // 4}f", bytes(buf[value[0]:value[1]]))) if wire == 2 else [
                struct.unpack("<f", bytes(value))[0]]
        elif number == 8:
            listed += ints(buf, wire, value)
    return name, found if found is not None else listed


def value_info_shape(buf, span) -> tuple[str, list]:
    name, dims = "", []
    for number, _wire, value in fields(buf, *span):
        if number == 1:
            name = text(buf, value)
        elif number == 2:
            for n2, _w2, v2 in fields(buf, *value):
                if n2 == 1:  # tensor_type
                    for n3, _w3, v3 in fields(buf, *v2):
                        if n3 == 2:  # shape
                            for n4, _w4, v4 in fields(buf, *v3):
                                if n4 == 1:  # dim
                                    dim = None
                                    for n5, _w5, v5 in fields(buf, *v4):
                                        if n5 == 1:
                                            dim = signed(v5)
                                    dims.append(dim)
    return name, dims


class Graph:
    def __init__(self, src: FileSource):
        graph = None
        for number, wire, value in src.fields(0, src.size):
            if number == 7 and wire == 2:
                graph = value
        if graph is None:
            raise WireError(Note("it holds no graph"))
        count = sum(1 for number, _, _ in src.fields(*graph) if number == 1)  # counted before any is read
        if count > MAX_GRAPH_NODES:
            raise TooLarge(Note("{count:,} nodes, more than {max_nodes:,}", count=count, max_nodes=MAX_GRAPH_NODES))
        self.nodes, self.initializers, self.inputs, self.outputs, self.name = [], {}, [], [], ""
        for number, wire, value in src.fields(*graph):
            if number == 1:
                data = src.read(*value)
                self.nodes.append(Node(data, (0, len(data))))
            elif number == 2:
                self.name = src.read(*value).decode("utf-8", "replace")
            elif number == 5:
                tensor = Tensor(src, value)
                self.initializers[tensor.name] = tensor
            elif number in (11, 12):
                data = src.read(*value)
                name, dims = value_info_shape(data, (0, len(data)))
                (self.inputs.append((name, dims)) if number == 11 else self.outputs.append(name))


class TooLarge(WireError):
    """A file beyond a budget: said as such, not as a malformed file."""


def read_graph(path: Path) -> Graph:
    try:
        fd = open_regular(path)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                raise WireError(Note("the file is empty"))
            return Graph(FileSource(fd, size))
        finally:
            os.close(fd)
    except SpecError:
        raise
    except OSError as error:
        raise SpecError(Note("{path}: cannot read the file: {what}, got {value}", path=shorten(str(path)), what=error.strerror or str(error),
                                                                                     value=quote(str(path)))) from None
    except TooLarge as error:
        raise SpecError(Note("{path}: the graph holds {what}, beyond the budget (see specs/README.md), got {value}",
                             path=shorten(str(path)), what=str(error), value=quote(str(path)))) from None
    except (WireError, struct.error, ValueError, IndexError, UnicodeDecodeError, TypeError, AttributeError, KeyError, OverflowError) as error:
        reason = str(error) if isinstance(error, WireError) else Note("a malformed field")
        raise SpecError(Note("{path}: not an ONNX model (its bytes are not an ONNX ModelProto: {reason}), got {value}",
            path=shorten(str(path)), reason=reason, value=quote(str(path)))) from None


def read_onnx(path: Path, input_shape: tuple[int, ...] | None = None) -> Network:
    graph = read_graph(path)
    inputs = [(name, dims) for name, dims in graph.inputs if name not in graph.initializers]
    if not inputs:
        raise SpecError(Note("{path}: the graph has no input, got {value}", path=shorten(str(path)), value=quote(str(path))))
    name, dims = inputs[0]
    if input_shape is None:
        if len(dims) < 2 or any(not isinstance(d, int) or d < 1 for d in dims[1:]):
            raise SpecError(Note("--input: the model's input {name} leaves its sizes open; give them, such as --input 3x224x224, got {value}",
                name=quote(name), value=quote(dims)))
        input_shape = tuple(dims[1:])
    elif dims:
        from .inputs import check_override

        known = tuple(dims[1:])
        check_override(input_shape, known if all(isinstance(d, int) and d > 0 for d in known) else len(known), shorten(path.name))
    body = Mapper(graph, name, input_shape, shorten(path.name)).run()
    generic = graph.name in ("", "main_graph", "torch_jit", "torch-jit-export")  # exporters' default names
    return Network(path.stem if generic else graph.name, tuple(input_shape), body, f"ONNX {shorten(path.name)}")


class Mapper(GraphBuilder):
    """ONNX nodes → the graph builder's layers and merges (graph.py), one operator table: `op_<Name>`."""

    def __init__(self, graph: Graph, input_name: str, input_shape, filename: str):
        super().__init__(input_name, input_shape, filename)
        self.graph, self.filename, self.input_name = graph, filename, input_name
        self.init = dict(graph.initializers)
        self.constants: dict[str, Tensor] = dict(graph.initializers)

    def run(self) -> tuple:
        self.check()
        regions = self.regions()
        pending: list = []  # the nodes of the region being passed, read one by one if it cannot be read whole
        for node in self.graph.nodes:
            region = regions.get(id(node))
            if region is not None and region[-1] is not node:
                if node.op == "Constant":
                    self.node(node)  # a constant may serve a node outside too
                pending.append(node)
                continue  # a region is read at its last node, when every value it reads from outside exists
            try:
                if region is None:
                    self.node(node)
                    continue
                if not self.region(region):
                    for earlier in pending + [node]:
                        node = earlier
                        self.node(earlier)
                pending = []
            except (ConvcalcError, RecursionError):
                raise
            except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, AttributeError, OverflowError):
                problem = malformed(node, self.weights(node, 1) if node.op in WINDOWED else None)
                if problem is None:
                    raise  # a well-formed node this reader failed on: its fault, kept with the traceback
                raise SpecError(Note("{where}: its attributes or inputs are not what the ONNX operator takes ({problem}), got {value}",
                                     where=self.where(node), problem=problem, value=quote(node.op))) from None
        if not any(self.known(name) for name in self.graph.outputs):
            names = ", ".join(shorten(name, 30) for name in self.graph.outputs[:3]) or "none"
            raise SpecError(Note("{file}: no output of the graph ({names}) depends on its input {input}, got {value}", file=self.filename,
                                 names=names, input=shorten(self.input_name), value=quote(self.graph.outputs[:3])))
        return self.finish(self.graph.outputs)

    def check(self) -> None:
        """What ONNX's checker asks of the graph as a whole, before any node is mapped: tensors hold the
        values their dimensions say, and every value is written once, by a node listed before those that
        read it (so the graph has no cycle)."""
        for tensor in [*self.graph.initializers.values(),
                       *(n.attrs["value"] for n in self.graph.nodes if isinstance(n.attrs.get("value"), Tensor))]:
            if not tensor.holds_its_dims() or tensor.size > MAX_INT:
                raise SpecError(Note("{file}: tensor {name} is {dims} ({size:,} values) but its data holds {count:,}, got {value}",
                                     file=self.filename, name=shorten(tensor.name), dims=quote(tensor.dims), size=tensor.size,
                                     count=tensor.count, value=quote(tensor.name)))
        written = {name for name, _ in self.graph.inputs} | set(self.graph.initializers) | {""}
        for node in self.graph.nodes:
            for name in node.inputs:
                if name not in written and any(name in n.outputs for n in self.graph.nodes):
                    self.fault(node, Note("reads {name} before the node that writes it (ONNX lists nodes in order, with no cycle)",
                                          name=shorten(name)), name)
                if name not in written:
                    self.fault(node, Note("reads {name}, which no node, input or initializer gives", name=shorten(name)), name)
            for name in node.outputs:
                if name in written:
                    self.fault(node, Note("writes {name}, which is written already (a value is written once)", name=shorten(name)), name)
                written.add(name)

    # --- attention, read a scope at a time (onnxregion.py) -------------------
    def regions(self) -> dict:
        """node → its region's nodes, for the scopes holding a product of two activations whose nodes nothing
        outside reads before the region ends."""
        found = {}
        scopes = find_regions(self.graph, self.input_name)
        if not scopes:
            return found  # (the tables below take a few hundred bytes a node: only built when needed)
        consumers: dict[str, set] = {}
        for node in self.graph.nodes:
            for name in node.inputs:
                consumers.setdefault(name, set()).add(id(node))
        self.consumers = consumers
        self.active = activations(self.graph, self.input_name)
        position = {id(node): i for i, node in enumerate(self.graph.nodes)}
        for nodes in scopes.values():
            members = {id(n) for n in nodes}
            made = {o for n in nodes for o in n.outputs}
            between = self.graph.nodes[position[id(nodes[0])]:position[id(nodes[-1])]]
            if any(id(n) not in members and any(i in made and i in self.active for i in n.inputs) for n in between):
                continue  # something outside reads the region's values before it ends: read node by node
            for node in nodes:
                found[id(node)] = nodes
        return found

    def region(self, nodes) -> bool:
        """The region as one layer, if it reads one activation and gives one; else False (read node by node)."""
        region = Region(nodes, self.constants, self.init, FLOAT_TYPES)
        inputs, outputs = region.edges(self.active, self.consumers)
        if len(inputs) != 1 or len(outputs) != 1 or not (inputs[0] in self.alias or inputs[0] in self.real):
            return False
        source = inputs[0]
        real_in = self.real_of(source)
        try:
            params, buffers, macs = region.infer(source, real_in)
            real_out = region.shape(outputs[0])
        except (Unknown, KeyError, IndexError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            return False
        if source in self.real:
            self.materialise(source)
        if tuple(real_out) == tuple(real_in):
            shape, layout = self.shapes[source], self.layout.get(source, "cf")
        elif self.layout.get(source) == "cl" and len(real_out) == len(real_in) > 2:  # channels stay last (Swin's patch merging)
            shape, layout = (real_out[-1], *real_out[1:-1]), "cl"
        elif 2 <= len(real_out) <= 5:
            shape, layout = tuple(real_out[1:]), "cf"
        else:
            return False
        scope = nodes[0].name.rpartition("/")[0]
        ops = ", ".join(dict.fromkeys(n.op for n in nodes if n.op in PRODUCTS + ("Softmax",)))
        self.add(Subgraph(ops, shape, params, buffers, macs), f"{scope}/{scope.rsplit('/', 1)[-1]}", source, outputs[0])
        self.layout[outputs[0]] = layout
        for node in nodes:  # constants, and what the region worked out on sizes, stay known to the nodes after it
            if node.op == "Constant" and isinstance(node.attrs.get("value"), Tensor) and node.outputs:
                self.constants[node.outputs[0]] = node.attrs["value"]
                continue
            for name in node.outputs:
                if name in region.values and name not in self.alias:
                    self.constants[name] = Const(region.values[name])
        return True

    # --- helpers -------------------------------------------------------------
    def where(self, node) -> str:
        return f"{self.filename}: {node.name or node.op} ({node.op})"

    def shape(self, name: str) -> tuple:
        return self.shapes[name]

    def tensor_input(self, node, index: int = 0) -> str:
        name = node.inputs[index]
        if name in self.real:
            self.materialise(name)
        if name not in self.alias:
            raise SpecError(Note("{where}: reads {name}, which no earlier node makes, got {value}", where=self.where(node), name=shorten(name), value=quote(name)))
        return name

    def constant(self, name: str):
        tensor = self.constants.get(name)
        return tensor.values if tensor is not None else None

    def opaque(self, node, shape=None) -> None:
        source = next((i for i in node.inputs if i in self.alias or i in self.real), None)
        if source is None:
            return  # computes on constants only
        source = self.tensor_input(node, node.inputs.index(source))
        op = f"{node.domain}.{node.op}" if foreign(node) else node.op
        params = 0 if op in WITHOUT_WEIGHTS else sum(self.init[i].size for i in node.inputs if i in self.init and self.init[i].dtype in FLOAT_TYPES)
        out_shape = shape or self.shapes[source]
        label = op if shape is not None else Note("{op} (shape assumed unchanged)", op=op)
        self.add(Opaque(label, out_shape, params), node.name or node.op, source, node.outputs[0])

    # --- operators -----------------------------------------------------------
    def node(self, node: Node) -> None:
        op = node.op
        if foreign(node):
            return self.opaque(node)  # another domain's operator of the same name computes something else
        for index in AXIS_INPUTS.get(op, ()):
            tensor = self.constants.get(node.inputs[index]) if len(node.inputs) > index else None
            if isinstance(tensor, Tensor) and tensor.size > 2 * MAX_AXES:
                self.fault(node, Note("input {name} holds {count:,} values, where one or two per axis are read (a tensor has at most {max_axes} axes)",
                                      name=shorten(tensor.name), count=tensor.size, max_axes=MAX_AXES), tensor.dims)
        if op == "Constant":
            value = node.attrs.get("value")
            if isinstance(value, Tensor) and node.outputs:
                self.constants[node.outputs[0]] = value
            return
        if op == "Shape" and node.inputs and (node.inputs[0] in self.alias or node.inputs[0] in self.real):
            self.constants[node.outputs[0]] = Const(list(self.real_of(node.inputs[0])))
            return
        if not any(i in self.alias or i in self.real for i in node.inputs):
            self.fold(node)  # arithmetic on sizes (Gather, Unsqueeze, Concat of a shape): kept when it is simple
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None and op in ELEMENTWISE:  # element-wise arithmetic: 0 MACs by convcalc's rules, a row named by the op
            source = self.tensor_input(node)
            return self.add(Elementwise("identity"), node.name or op, source, node.outputs[0])
        if handler is None and op in ACTIVATIONS:
            source = self.tensor_input(node)
            return self.add(Elementwise(ACTIVATIONS[op]), node.name or op, source, node.outputs[0])
        if handler is None:
            return self.opaque(node)
        problem = malformed(node, self.weights(node, 1) if node.op in WINDOWED else None)
        if problem is not None:
            self.refuse(node, problem)
        handler(node)

    def fold(self, node) -> None:
        if node.op == "Expand" and node.inputs and node.inputs[0] in self.init and node.outputs:
            self.init[node.outputs[0]] = self.init[node.inputs[0]]  # ViT's class token, one per sample
            return
        if node.op == "Identity" and node.inputs and node.inputs[0] in self.constants and node.outputs:
            self.constants[node.outputs[0]] = self.constants[node.inputs[0]]  # an exporter shares one initializer so
            if node.inputs[0] in self.init:
                self.init[node.outputs[0]] = self.init[node.inputs[0]]
            return
        if not node.outputs or not node.inputs or self.constant(node.inputs[0]) is None:
            return
        region = Region([node], self.constants, self.init, FLOAT_TYPES)  # one evaluator of small tensors, ONNX's rules
        try:
            region.node(node)
        except (Unknown, KeyError, IndexError, TypeError, ValueError):
            return  # not simple enough to work out: whatever reads it is listed
        for name in node.outputs:
            if region.has_values(name) and len(region.shapes[name]) <= 1:
                self.constants[name] = Const(region.values[name])

    def weights(self, node, index: int) -> Tensor | None:
        return self.init.get(node.inputs[index]) if len(node.inputs) > index and node.inputs[index] else None

    def op_Conv(self, node) -> None:
        source = self.tensor_input(node)
        w = self.weights(node, 1)
        if w is None:
            return self.opaque(node)
        a = node.attrs
        n = len(w.dims) - 2
        pads = a.get("pads") or [0] * (2 * n)
        padding = tuple((pads[i], pads[i + n]) for i in range(n))
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            padding = "same"
        groups, channels = int(a.get("group", 1) or 1), self.shapes[source][0]
        bias = self.weights(node, 2)
        if bias is not None and bias.size != w.dims[0]:
            self.fault(node, Note("bias {name} holds {count:,} values for {channels:,} output channels", name=shorten(bias.name),
                                  count=bias.size, channels=w.dims[0]), bias.dims)
        if w.dims[1] * groups != channels:
            problem = (Note("weight {name} reads {total:,} input channels, the input has {channels:,}", name=shorten(w.name), total=w.dims[1],
                            channels=channels) if groups == 1 else
                       Note("weight {name} reads {total:,} input channels ({per:,} per group × {groups} groups), the input has {channels:,}",
                            name=shorten(w.name), total=w.dims[1] * groups, per=w.dims[1], groups=groups, channels=channels))
            self.fault(node, problem, w.dims)
        layer = Conv(w.dims[0], tuple(a.get("kernel_shape") or w.dims[2:]), tuple(a.get("strides") or [1] * n), padding,
                     tuple(a.get("dilations") or [1] * n), int(a.get("group", 1) or 1), len(node.inputs) > 2 and bool(node.inputs[2]))
        self.add(layer, node.name or "Conv", source, node.outputs[0])

    def op_ConvTranspose(self, node) -> None:
        source = self.tensor_input(node)
        w = self.weights(node, 1)
        a = node.attrs
        if w is None or a.get("output_shape"):
            return self.opaque(node)
        n = len(w.dims) - 2
        pads = a.get("pads") or [0] * (2 * n)
        if any(pads[i] != pads[i + n] for i in range(n)):
            return self.opaque(node)
        groups = int(a.get("group", 1) or 1)
        if w.dims[0] != self.shapes[source][0]:
            self.fault(node, Note("weight {name} reads {total:,} input channels, the input has {channels:,}",
                                  name=shorten(w.name), total=w.dims[0], channels=self.shapes[source][0]), w.dims)
        layer = ConvTranspose(w.dims[1] * groups, tuple(a.get("kernel_shape") or w.dims[2:]), tuple(a.get("strides") or [1] * n),
                              tuple(pads[:n]), tuple(a.get("output_padding") or [0] * n), tuple(a.get("dilations") or [1] * n), groups,
                              len(node.inputs) > 2 and bool(node.inputs[2]))
        self.add(layer, node.name or "ConvTranspose", source, node.outputs[0])

    def op_Gemm(self, node) -> None:
        source = self.tensor_input(node)
        b = self.weights(node, 1)
        if b is None or node.attrs.get("transA") or len(self.shape(source)) != 1:
            return self.opaque(node)
        if len(b.dims) != 2 or b.dims[1 if node.attrs.get("transB") else 0] != self.shape(source)[0]:
            self.fault(node, Note("weight {name} does not read the input's {features:,} features", name=shorten(b.name),
                                  features=self.shape(source)[0]), b.dims)
        out = b.dims[0] if node.attrs.get("transB") else b.dims[1]
        self.add(Linear(out, len(node.inputs) > 2 and bool(node.inputs[2])), node.name or "Gemm", source, node.outputs[0])

    def op_MatMul(self, node) -> None:
        source = self.tensor_input(node)
        b = self.weights(node, 1)
        if b is None or len(b.dims) != 2 or not (len(self.shape(source)) == 1 or self.layout.get(source) == "cl"):
            return self.opaque(node)
        if b.dims[0] != self.shape(source)[0]:
            self.fault(node, Note("weight {name} does not read the input's {features:,} features", name=shorten(b.name),
                                  features=self.shape(source)[0]), b.dims)
        self.add(Linear(b.dims[1], False), node.name or "MatMul", source, node.outputs[0])

    def op_LayerNormalization(self, node) -> None:
        source = self.tensor_input(node)
        shape, rank = self.shape(source), len(self.shape(source)) + 1
        axis = int(node.attrs.get("axis", -1)) % rank
        affine = len(node.inputs) > 1 and bool(node.inputs[1])
        if self.layout.get(source) == "cl" and axis == rank - 1 or len(shape) == 1 and axis == 1:
            layer = Norm(affine, kind="layernorm")
        elif self.layout.get(source, "cf") == "cf" and axis >= 1:
            layer = Norm(affine, kind="layernorm", shape=tuple(shape[axis - 1:]))
        else:
            return self.opaque(node)
        self.add(layer, node.name or node.op, source, node.outputs[0])

    def pool(self, node, kind: str) -> None:
        source = self.tensor_input(node)
        a = node.attrs
        kernel = a.get("kernel_shape") or []
        n = len(kernel)
        pads = a.get("pads") or [0] * (2 * n)
        if any(pads[i] != pads[i + n] for i in range(n)) or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            return self.opaque(node)
        dilation = tuple(a.get("dilations") or [1] * n) if kind == "maxpool" else 1
        layer = Pool(tuple(kernel), tuple(a.get("strides") or [1] * n), tuple(pads[:n]), dilation, bool(a.get("ceil_mode", 0)), kind)
        self.add(layer, node.name or node.op, source, node.outputs[0])

    def op_MaxPool(self, node) -> None:
        self.pool(node, "maxpool")

    def op_AveragePool(self, node) -> None:
        self.pool(node, "avgpool")

    def op_GlobalAveragePool(self, node) -> None:
        self.add(AdaptivePool(1, "global_avgpool"), node.name or node.op, self.tensor_input(node), node.outputs[0])

    def op_GlobalMaxPool(self, node) -> None:
        self.add(AdaptivePool(1, "global_maxpool"), node.name or node.op, self.tensor_input(node), node.outputs[0])

    def op_BatchNormalization(self, node) -> None:
        self.add(Norm(True, kind="batchnorm"), node.name or node.op, self.tensor_input(node), node.outputs[0])

    def op_InstanceNormalization(self, node) -> None:
        self.add(InstanceNorm(True), node.name or node.op, self.tensor_input(node), node.outputs[0])

    def op_LRN(self, node) -> None:
        self.add(LRN(int(node.attrs.get("size", 5))), node.name or node.op, self.tensor_input(node), node.outputs[0])

    def op_Clip(self, node) -> None:
        source = self.tensor_input(node)
        low, high = (self.constant(node.inputs[i]) if len(node.inputs) > i and node.inputs[i] else None for i in (1, 2))
        kind = "relu6" if (low, high) == ([0.0], [6.0]) else "relu" if low == [0.0] and high is None else "identity"
        self.add(Elementwise(kind), node.name or node.op, source, node.outputs[0])

    def op_Flatten(self, node) -> None:
        source = self.tensor_input(node)
        if int(node.attrs.get("axis", 1)) != 1:
            return self.opaque(node)
        if len(self.shape(source)) == 1:
            return self.same(node.outputs[0], source)
        self.add(Flatten(), node.name or node.op, source, node.outputs[0])

    def merge(self, node, op: str) -> None:
        tensors = [i for i in node.inputs if i in self.alias or i in self.real]
        if len(tensors) == 1:  # a tensor and a constant
            source = self.tensor_input(node, node.inputs.index(tensors[0]))
            other = next(i for i in node.inputs if i != tensors[0])
            last = self.body[-1] if self.body else None
            bias = self.init.get(other)
            if (op == "add" and bias is not None and bias.dtype in FLOAT_TYPES and self.layout.get(source) == "cl"
                    and len(self.shapes[source]) == 2 and bias.size == prod(self.shapes[source])):
                return self.add(PositionEmbedding(), node.name or node.op, source, node.outputs[0])  # ViT's, one per position
            if (op == "add" and bias is not None and isinstance(last, LayerNode) and last.id == self.alias[source]
                    and isinstance(last.layer, Linear) and not last.layer.bias and bias.size == last.layer.out_features):
                self.body[-1] = last._replace(layer=last.layer._replace(bias=True))  # MatMul + Add: one linear layer
            elif op == "multiply" and bias is not None and bias.dtype in FLOAT_TYPES and bias.size == self.shapes[source][0] > 1:
                return self.add(Scale(), node.name or node.op, source, node.outputs[0])  # a learned per-channel scale
            return self.same(node.outputs[0], source)
        names = [self.tensor_input(node, node.inputs.index(t)) for t in tensors]
        self.join(op, names, node.outputs[0], node.name or node.op, self.where(node))

    def op_Add(self, node) -> None:
        self.merge(node, "add")

    def op_Sum(self, node) -> None:
        self.merge(node, "add")

    def op_Mul(self, node) -> None:
        self.merge(node, "multiply")

    def op_Sub(self, node) -> None:  # element-wise: 0 MACs by convcalc's rules, a merge of its own name
        self.merge(node, "subtract")

    def op_Div(self, node) -> None:
        self.merge(node, "divide")

    def op_Pow(self, node) -> None:
        self.merge(node, "power")

    def op_Gather(self, node) -> None:
        """x[:, i] of a channels-last sequence (ViT's class token taken for the head): a crop of one position."""
        source = self.tensor_input(node)
        index = self.constants.get(node.inputs[1]) if len(node.inputs) > 1 else None
        shape = self.shapes[source]
        if (not isinstance(index, Tensor) or index.values is None or len(index.values) != 1 or self.layout.get(source) != "cl"
                or len(shape) != 2 or int(node.attrs.get("axis", 0)) % 3 != 1):
            return self.opaque(node)
        label = node.name or node.op
        position = int(index.values[0]) % shape[1]
        if index.dims:  # x[:, [i]]: the axis kept
            return self.add(Crop(size=(1,), offset=(position,)), label, source, node.outputs[0])
        self.add(Crop(size=(1,), offset=(position,)), label, source, node.outputs[0] + "#position")
        self.add(Flatten(), label, node.outputs[0] + "#position", node.outputs[0])

    def op_Concat(self, node) -> None:
        names = [self.tensor_input(node, i) for i, name in enumerate(node.inputs) if name in self.alias or name in self.real]
        rank = len(self.shape(names[0])) + 1
        token = self.init.get(node.inputs[0]) if len(node.inputs) == 2 and node.inputs[1] == names[0] else None
        if (token is not None and self.layout.get(names[0]) == "cl" and rank == 3 and int(node.attrs.get("axis", 1)) % 3 == 1
                and token.size == self.shapes[names[0]][0]):
            return self.add(ClassToken(), node.name or node.op, names[0], node.outputs[0])  # ViT's learned token, first
        if len(names) != len(node.inputs) or int(node.attrs.get("axis", 1)) % rank != 1:
            return self.opaque(node)
        if len(names) == 1:
            return self.same(node.outputs[0], names[0])
        self.join("concat", names, node.outputs[0], node.name or node.op, self.where(node))

    def op_Reshape(self, node) -> None:
        target = self.constant(node.inputs[1]) if len(node.inputs) > 1 else node.attrs.get("shape")
        if not target:
            return self.opaque(node)
        shape = resolve_sizes([int(v) for v in target], self.real_of(node.inputs[0]), zero_copies=not node.attrs.get("allowzero"))
        if shape is None:
            return self.opaque(node)
        self.move(node.inputs[0], node.outputs[0], shape)

    def fault(self, node, problem: Note, value):
        """A node whose parts disagree with each other or with the graph."""
        raise SpecError(Note("{where}: {problem}, got {value}", where=self.where(node), problem=problem, value=quote(value)))

    def refuse(self, node, problem: Note):
        raise SpecError(Note("{where}: its attributes or inputs are not what the ONNX operator takes ({problem}), got {value}",
                             where=self.where(node), problem=problem, value=quote(node.op)))

    def op_Transpose(self, node) -> None:
        source = node.inputs[0]
        rank = len(self.real_of(source))
        perm = list(node.attrs.get("perm") or [])
        if perm and sorted(perm) != list(range(rank)):
            self.refuse(node, Note("perm {perm} is not an order of the input's {rank} axes", perm=quote(perm), rank=rank))
        if source in self.real and rank > 2 and perm == [0, *range(2, rank), 1]:
            origin, moved = self.real[source]
            if data_move(tuple(moved[1:]), self.shapes[origin], "Reshape").kind == "reshape":
                self.materialise(source)  # ViT: the patches flattened (channels kept), then put channels last
        if source not in self.real and rank > 2:
            layout = self.layout.get(source, "cf")
            if layout == "cf" and perm == [0, *range(2, rank), 1]:
                return self.same(node.outputs[0], source, "cl")
            if layout == "cl" and perm == [0, rank - 1, *range(1, rank - 1)]:
                return self.same(node.outputs[0], source, "cf")
        current = self.real_of(node.inputs[0])
        perm = node.attrs.get("perm") or list(range(len(current)))[::-1]
        self.move(node.inputs[0], node.outputs[0], tuple(current[p] for p in perm), transposes=list(perm) != sorted(perm), perm=list(perm))

    def op_Squeeze(self, node) -> None:
        current = self.real_of(node.inputs[0])
        axes = node.attrs.get("axes") or (self.constant(node.inputs[1]) if len(node.inputs) > 1 else None)
        axes = {a % len(current) for a in axes} if axes else {i for i, v in enumerate(current) if v == 1 and i}
        self.move(node.inputs[0], node.outputs[0], tuple(v for i, v in enumerate(current) if i not in axes or i == 0))

    def op_Unsqueeze(self, node) -> None:
        current = list(self.real_of(node.inputs[0]))
        axes = node.attrs.get("axes") or (self.constant(node.inputs[1]) if len(node.inputs) > 1 else None) or []
        for a in sorted(a % (len(current) + len(axes)) for a in axes):
            current.insert(a, 1)
        self.move(node.inputs[0], node.outputs[0], tuple(current))

    def op_ReduceMean(self, node) -> None:
        source = self.tensor_input(node)
        axes = node.attrs.get("axes") or (self.constant(node.inputs[1]) if len(node.inputs) > 1 else None)
        rank = len(self.shape(source)) + 1
        if axes and sorted(a % rank for a in axes) == list(range(2, rank)):
            self.add(AdaptivePool(1, "mean"), node.name or node.op, source, node.outputs[0] + ("" if node.attrs.get("keepdims", 1) else "#pool"))
            if not node.attrs.get("keepdims", 1):
                self.add(Flatten(), (node.name or node.op) + ".flatten", node.outputs[0] + "#pool", node.outputs[0])
            return
        self.opaque(node)

    def op_Resize(self, node) -> None:
        source = self.tensor_input(node)
        shape = self.shape(source)
        n = len(shape) - 1
        mode = {"nearest": "nearest", "linear": "bilinear"}.get(node.attrs.get("mode", "nearest"))
        sizes = self.constant(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        scales = self.constant(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if mode is None:
            return self.opaque(node)
        if sizes:
            layer = Resize(size=tuple(int(v) for v in sizes[2:]), mode=mode)
        elif scales and len(set(scales[2:])) == 1 and len(scales) == n + 2:
            factor = scales[2]
            layer = Resize(factor=int(factor) if float(factor).is_integer() else factor, mode=mode)
        else:
            return self.opaque(node)
        self.add(layer, node.name or node.op, source, node.outputs[0])

    op_Upsample = op_Resize

    def op_Pad(self, node) -> None:
        source = self.tensor_input(node)
        pads = self.constant(node.inputs[1]) if len(node.inputs) > 1 else node.attrs.get("pads")
        mode = {"constant": "zeros", "reflect": "reflect", "edge": "replicate"}.get(node.attrs.get("mode", "constant"))
        rank = len(self.shape(source)) + 1
        if not pads or mode is None or len(pads) != 2 * rank or pads[0] or pads[1] or pads[rank] or pads[rank + 1]:
            return self.opaque(node)
        self.add(Pad(tuple((int(pads[i]), int(pads[i + rank])) for i in range(2, rank)), mode), node.name or node.op, source, node.outputs[0])

    def op_Split(self, node) -> None:
        source = self.tensor_input(node)
        shape = self.shape(source)
        axis = int(node.attrs.get("axis", 0)) % (len(shape) + 1)
        sizes = node.attrs.get("split") or (self.constant(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None)
        if not sizes:
            parts = len(node.outputs)
            sizes = [shape[0] // parts] * parts if shape[0] % parts == 0 else None
        if axis != 1 or not sizes:
            return self.opaque(node)
        start = 0
        for out, size in zip(node.outputs, sizes):
            self.add(Slice(start, int(size)), out, source, out)
            start += int(size)

    def op_Slice(self, node) -> None:
        source = self.tensor_input(node)
        starts, ends = (self.constant(node.inputs[i]) if len(node.inputs) > i else None for i in (1, 2))
        axes = self.constant(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        steps = self.constant(node.inputs[4]) if len(node.inputs) > 4 and node.inputs[4] else None
        shape = self.shape(source)
        if not starts or not ends or len(starts) != 1 or (axes or [1])[0] % (len(shape) + 1) != 1 or (steps or [1])[0] != 1:
            return self.opaque(node)
        start, end = max(0, starts[0] if starts[0] >= 0 else shape[0] + starts[0]), min(shape[0], ends[0] if ends[0] >= 0 else shape[0] + ends[0])
        self.add(Slice(int(start), int(end - start)), node.name or node.op, source, node.outputs[0])
