"""Darknet's network files (`yolov4.cfg`): `[section]` headers and `key=value` lines, read as
AlexeyAB/darknet's parser.c reads them, onto the graph builder.

Every section after `[net]` is one Darknet layer, numbered from 0 as Darknet prints them; `[route]`,
`[shortcut]`, `[scale_channels]` and `[sam]` name earlier layers by that number (negative: counted
back from the current one). Each layer is one row, or a block of rows named by its number
(`[convolutional]` is a convolution, its batchnorm and its activation), so that the table reads
beside Darknet's own printout, line by line. Darknet's sizes:

    convolutional  out = ⌊(M + 2P − K)/S⌋ + 1, P = ⌊K/2⌋ with pad=1 (else `padding`); no bias with
                   batch_normalize (the batchnorm's shift is the bias)
    maxpool        out = ⌊(M + P − K)/S⌋ + 1, P = `padding` (default K − 1) in all, ⌊P/2⌋ before
    route          the named layers concatenated along the channels; with groups, part group_id of one
    upsample       ×stride, nearest;  reorg: space to depth by stride;  avgpool: global average

`--count darknet` gives the BFLOPs its printout states (counting.py). What Darknet computes that convcalc
has no formula for (recurrent layers, XNOR and shared weights, anti-aliasing) is refused by name.
"""

from __future__ import annotations

from pathlib import Path

from ..core.errors import SpecError, quote, reason, shorten
from ..core.layers import AdaptivePool, Conv, Elementwise, Flatten, Linear, LRN, Norm, Pool, SpaceToDepth, Slice, Upsample
from ..core.limits import MAX_FILE_BYTES
from ..core.messages import Note
from ..core.network import Network
from .files import read_text
from .graph import GraphBuilder
from .yamlread import INT, integer

# Darknet's names for a section (string_to_layer_type) → the one this reader uses
SECTIONS = {"conv": "convolutional", "convolutional": "convolutional", "max": "maxpool", "maxpool": "maxpool",
            "local_avg": "local_avgpool", "local_avgpool": "local_avgpool", "avg": "avgpool", "avgpool": "avgpool",
            "route": "route", "shortcut": "shortcut", "upsample": "upsample", "reorg": "reorg", "reorg3d": "reorg",
            "scale_channels": "scale_channels", "sam": "sam", "dropout": "dropout", "conn": "connected",
            "connected": "connected", "soft": "softmax", "softmax": "softmax", "yolo": "yolo", "region": "region",
            "Gaussian_yolo": "yolo", "detection": "detection", "cost": "cost", "contrastive": "contrastive",
            "batchnorm": "batchnorm", "activation": "activation", "empty": "empty", "silence": "empty",
            "lrn": "lrn", "normalization": "lrn"}
HEADS = ("yolo", "region", "detection", "contrastive", "cost")  # they compute the loss or decode boxes: no cost, same shape

# Darknet's activations (activations.c) → convcalc's element-wise kinds; linear is none
ACTIVATIONS = {"logistic": "sigmoid", "relu": "relu", "relu6": "relu6", "leaky": "leaky_relu", "elu": "elu", "tanh": "tanh",
               "mish": "mish", "swish": "silu", "gelu": "gelu", "linear": None}

# options that change what a layer computes in ways convcalc has no formula for
REFUSED = {"convolutional": ("xnor", "binary", "share_index", "antialiasing", "sway", "rotate", "stretch", "stretch_sway",
                             "assisted_excitation", "coordconv", "deform"),
           "maxpool": ("maxpool_depth", "antialiasing"), "shortcut": ("weights_type",)}


class Section:
    """One `[kind]` of the file: its options and the line of each."""

    __slots__ = ("kind", "line", "options", "lines")

    def __init__(self, kind: str, line: int):
        self.kind, self.line, self.options, self.lines = kind, line, {}, {}


def parse(text: str, filename: str) -> list[Section]:
    """The sections of a .cfg, in order: comments (`#`, `;`) and blank lines skipped, as Darknet's read_cfg does."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise SpecError(Note("{filename}:{line}: a section header is [name], got {value}", filename=filename, line=number,
                                     value=quote(shorten(line))))
            sections.append(Section(line[1:-1].strip(), number))
            continue
        key, sep, value = line.partition("=")
        if not sep or not sections:
            raise SpecError(Note("{filename}:{line}: expected key=value inside a [section], got {value}", filename=filename,
                                 line=number, value=quote(shorten(line))))
        if key.strip() not in sections[-1].options:  # Darknet's option_find takes the first
            sections[-1].options[key.strip()] = value.strip()
            sections[-1].lines[key.strip()] = number
    return sections


class Reader:
    """The sections → layers, one Darknet layer after another."""

    def __init__(self, sections: list[Section], filename: str, shape: tuple | None, fuse: bool = False):
        self.filename, self.sections, self.fuse = filename, sections, fuse
        if not sections or sections[0].kind not in ("net", "network"):
            got = sections[0].kind if sections else Note("an empty file")
            raise SpecError(Note("{filename}:1: a Darknet network file starts with [net], got {value}", filename=filename,
                                 value=quote(got)))
        net = sections[0]
        self.section = net
        declared = (self.integer("channels", 0), self.integer("height", 0), self.integer("width", 0))
        if shape is None and not all(declared):
            raise SpecError(Note("{filename}:{line}: [net] needs channels, height and width (or --input C×H×W), got {value}",
                                 filename=filename, line=net.line, value=quote("x".join(map(str, declared)))))
        if shape is not None:
            from .inputs import check_override

            check_override(tuple(shape), declared if all(declared) else 3, Path(filename).name)
        self.shape = tuple(shape) if shape is not None else declared
        self.builder = GraphBuilder("input", self.shape, filename)
        self.values: list[str] = []  # each Darknet layer's output value, by its number
        self.heads: list[str] = []

    # options, as option_find_int and option_find_str read them
    def where(self, key: str | None = None) -> str:
        line = self.section.lines.get(key, self.section.line) if key else self.section.line
        return f"{self.filename}:{line}: [{self.section.kind}]"

    def integer(self, key: str, default: int) -> int:
        text = self.section.options.get(key)
        if text is None:
            return default
        if not INT.match(text):
            raise SpecError(Note("{where} {key}: must be an integer, got {value}", where=self.where(key), key=key,
                                 value=quote(shorten(text))))
        return integer(text, f"{self.where(key)} {key}: ")  # the descriptions' bound: at most 2^53

    def positive(self, key: str, default: int) -> int:
        value = self.integer(key, default)
        if value < 1:
            raise SpecError(Note("{where} {key}: must be at least 1, got {value}", where=self.where(key), key=key, value=value))
        return value

    def layer_numbers(self, key: str, index: int) -> list[int]:
        """`layers=-1,61` or `from=-3`: earlier layers, negative ones counted back from this one."""
        text = self.section.options.get(key)
        if not text:
            raise SpecError(Note("{where} {key}: must name earlier layers, such as {key}=-1, got none", where=self.where(),
                                 key=key))
        numbers = []
        for part in text.split(","):
            try:
                number = int(part)
            except ValueError:
                raise SpecError(Note("{where} {key}: must be layer numbers separated by commas, got {value}",
                                     where=self.where(key), key=key, value=quote(shorten(text)))) from None
            absolute = index + number if number < 0 else number
            if not 0 <= absolute < index:
                raise SpecError(Note("{where} {key}: must name an earlier layer (0 to {last}, or −1 to −{index}), got {value}",
                                     where=self.where(key), key=key, last=index - 1, index=index, value=number))
            numbers.append(absolute)
        return numbers

    def activation(self, default: str) -> str | None:
        name = self.section.options.get("activation", default)
        if name not in ACTIVATIONS:
            raise SpecError(Note("{where} activation: convcalc has no formula for it (known: {items}), got {value}",
                                 where=self.where("activation"), items=", ".join(ACTIVATIONS), value=quote(shorten(name))))
        return ACTIVATIONS[name]

    # building
    def add(self, layer, label: str, source: str, index: int) -> str:
        out = f"{index}.{label}"
        self.builder.add(layer, label, source, out)
        return out

    def activate(self, value: str, index: int, default: str) -> str:
        kind = self.activation(default)
        return value if kind is None else self.add(Elementwise(kind), self.section.options.get("activation", default), value, index)

    def read(self) -> Network:
        previous = "input"
        for index, section in enumerate(self.sections[1:]):
            self.section = section
            kind = SECTIONS.get(section.kind)
            if kind is None:
                place = f"{self.filename}:{section.line}"
                raise SpecError(Note("{where}: convcalc has no formula for this layer, got {value}", where=place,
                                     value=quote("[" + shorten(section.kind) + "]")))
            for option in REFUSED.get(kind, ()):
                if option in section.options and section.options[option] not in ("0", "none"):
                    raise SpecError(Note("{where} {key}: convcalc has no formula for this option, got {value}",
                                         where=self.where(option), key=option, value=quote(shorten(section.options[option]))))
            self.builder.scope = ((index, str(index), kind),)
            self.builder.place = f"{self.filename}:{section.line}: layer {index}"
            previous = getattr(self, f"on_{kind}")(previous, index)
            self.values.append(previous)
        last = self.values[-1] if self.values else "input"
        self.builder.materialise(last)
        body = self.builder.finish([last], single_takes_scope=True)
        outputs = tuple(self.builder.shapes[v] for v in self.heads) if len(self.heads) > 1 else ()
        return Network(Path(self.filename).stem, self.shape, body, f"Darknet {self.filename}", outputs)

    def on_convolutional(self, x: str, index: int) -> str:
        filters, size, groups = self.positive("filters", 1), self.positive("size", 1), self.positive("groups", 1)
        stride = self.positive("stride", 1)
        stride_y, stride_x = self.positive("stride_y", stride), self.positive("stride_x", stride)
        dilation = 1 if size == 1 else self.positive("dilation", 1)
        padding = size // 2 if self.integer("pad", 0) else self.integer("padding", 0)
        normalize = self.integer("batch_normalize", 0) or self.integer("cbn", 0)
        channels, height, width = self.builder.shapes[x]
        # Darknet sizes its output without the dilation and pads by P·D: refused where the two disagree
        expected = ((height + 2 * padding - size) // stride_y + 1, (width + 2 * padding - size) // stride_x + 1)
        folded = normalize and self.fuse  # --fuse: the batchnorm folded into the convolution, whose bias it becomes
        out = self.add(Conv(filters, size, (stride_y, stride_x), padding * dilation, dilation, groups, not normalize or folded), "conv", x,
                       index)
        if self.builder.shapes[out][1:] != expected:
            raise SpecError(Note("{where}: Darknet sizes this dilated convolution {expected}, convcalc's formula {value}, got "
                                 "dilation={dilation}", where=self.where("dilation"), expected="×".join(map(str, expected)),
                                 value="×".join(map(str, self.builder.shapes[out][1:])), dilation=dilation))
        if normalize and not folded:
            out = self.add(Norm(True), "bn", out, index)
        return self.activate(out, index, "logistic")

    def on_maxpool(self, x: str, index: int, kind: str = "maxpool") -> str:
        stride = self.positive("stride", 1)
        strides = (self.positive("stride_y", stride), self.positive("stride_x", stride))
        size = self.positive("size", stride)
        padding = self.integer("padding", size - 1)
        if padding < 0:
            raise SpecError(Note("{where} padding: must be at least 0, got {value}", where=self.where("padding"), value=padding))
        split = (padding // 2, padding - padding // 2)  # Darknet starts the windows at −⌊P/2⌋
        return self.add(Pool(size, strides, (split, split), kind=kind), kind, x, index)

    def on_local_avgpool(self, x: str, index: int) -> str:
        return self.on_maxpool(x, index, "avgpool")

    def on_avgpool(self, x: str, index: int) -> str:
        return self.add(AdaptivePool(1, "global_avgpool"), "avgpool", x, index)

    def on_route(self, x: str, index: int) -> str:
        sources = [self.values[n] for n in self.layer_numbers("layers", index)]
        groups, group = self.positive("groups", 1), self.integer("group_id", 0)
        if groups > 1:
            if len(sources) > 1:
                raise SpecError(Note("{where} groups: convcalc reads groups of one layer, got {value} layers",
                                     where=self.where("groups"), value=len(sources)))
            channels = self.builder.shapes[sources[0]][0]
            if not 0 <= group < groups or channels % groups:
                raise SpecError(Note("{where} group_id: must be 0 to {last}, with groups dividing the {channels} channels, got {value}",
                                     where=self.where("group_id"), last=groups - 1, channels=channels, value=group))
            return self.add(Slice(group * channels // groups, channels // groups), "slice", sources[0], index)
        if len(sources) == 1:  # the layer itself, read again: a row of its own to keep Darknet's numbering
            return self.add(Elementwise("identity"), "route", sources[0], index)
        out = f"{index}.route"
        self.builder.join("concat", sources, out, "route", self.where())
        return out

    def on_shortcut(self, x: str, index: int) -> str:
        """This layer plus earlier ones. Darknet adds the channels both have: an earlier layer with more channels
        is read in part (a slice of its first C); one with fewer would leave the rest unadded, which is refused."""
        sources = [x]
        channels, size = self.builder.shapes[x][0], self.builder.shapes[x][1:]
        for number in self.layer_numbers("from", index):
            value = self.values[number]
            other = self.builder.shapes[value]
            if other[1:] != size or other[0] < channels:
                raise SpecError(Note("{where} from: convcalc adds layers of the same size with at least this layer's "
                                     "channels ({shape}), got layer {number} of {value}", where=self.where("from"),
                                     shape="×".join(map(str, self.builder.shapes[x])), number=number, value="×".join(map(str, other))))
            if other[0] > channels:
                value = self.add(Slice(0, channels), f"slice{number}", value, index)
            sources.append(value)
        out = f"{index}.shortcut"
        self.builder.join("add", sources, out, "shortcut", self.where())
        return self.activate(out, index, "linear")

    def on_scale_channels(self, x: str, index: int, label: str = "scale_channels") -> str:
        source = self.values[self.layer_numbers("from", index)[0]]
        out = f"{index}.{label}"
        self.builder.join("multiply", [source, x], out, label, self.where())  # the earlier layer, scaled by this one's output
        return self.activate(out, index, "linear")

    def on_sam(self, x: str, index: int) -> str:
        return self.on_scale_channels(x, index, "sam")

    def on_upsample(self, x: str, index: int) -> str:
        stride = self.integer("stride", 2)
        if stride < 1:
            raise SpecError(Note("{where} stride: convcalc reads upsampling (a positive stride), got {value}",
                                 where=self.where("stride"), value=stride))
        return self.add(Upsample(stride), "upsample", x, index)

    def on_reorg(self, x: str, index: int) -> str:
        if self.integer("reverse", 0):
            raise SpecError(Note("{where} reverse: convcalc has no formula for this option, got {value}",
                                 where=self.where("reverse"), value=1))
        return self.add(SpaceToDepth(self.positive("stride", 1)), "reorg", x, index)

    def on_dropout(self, x: str, index: int) -> str:
        return self.add(Elementwise("dropout"), "dropout", x, index)

    def on_connected(self, x: str, index: int) -> str:
        if len(self.builder.shapes[x]) > 1:
            x = self.add(Flatten(), "flatten", x, index)
        normalize = self.integer("batch_normalize", 0)
        out = self.add(Linear(self.positive("output", 1), not normalize), "connected", x, index)
        if normalize:
            out = self.add(Norm(True), "bn", out, index)
        return self.activate(out, index, "logistic")

    def on_softmax(self, x: str, index: int) -> str:
        return self.add(Elementwise("softmax"), "softmax", x, index)

    def on_batchnorm(self, x: str, index: int) -> str:
        return self.add(Norm(True), "bn", x, index)

    def on_activation(self, x: str, index: int) -> str:
        out = self.activate(x, index, "linear")
        return out if out != x else self.add(Elementwise("identity"), "linear", x, index)

    def on_lrn(self, x: str, index: int) -> str:
        return self.add(LRN(self.positive("size", 5)), "lrn", x, index)

    def on_empty(self, x: str, index: int) -> str:
        return self.add(Elementwise("identity"), "empty", x, index)

    def head(self, x: str, index: int) -> str:
        out = self.add(Elementwise("identity"), self.section.kind, x, index)
        self.heads.append(out)
        return out

    on_yolo = on_region = on_detection = on_contrastive = head

    def on_cost(self, x: str, index: int) -> str:
        return self.add(Elementwise("identity"), "cost", x, index)


def read_darknet(path: Path, shape: tuple | None = None, fuse: bool = False) -> Network:
    """A Darknet .cfg file as a convcalc network; `shape` (C×H×W) overrides [net]'s size; `fuse` folds each batchnorm
    into its convolution."""
    filename = shorten(path.name)
    try:
        if path.stat().st_size > 4 * MAX_FILE_BYTES:
            raise SpecError(Note("{path}: a network file is at most {max_file_bytes:,} characters, got a file of {st_size:,} bytes",
                                 path=filename, max_file_bytes=MAX_FILE_BYTES, st_size=path.stat().st_size))
        text = read_text(path, 4 * MAX_FILE_BYTES)
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(Note("{path}: cannot read the file: {what}, got {value}", path=filename, what=reason(error),
                             value=quote(str(path)))) from None
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(Note("{path}: a network file is at most {max_file_bytes:,} characters, got {count:,}", path=filename,
                             max_file_bytes=MAX_FILE_BYTES, count=len(text)))
    return Reader(parse(text, filename), filename, shape, fuse).read()
