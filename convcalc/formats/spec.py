"""The network description format: YAML in, a `network.Network` out. It only loads — every
figure is computed by the analysis — and it reports each mistake with its file, line and path.

    name: VGG-16                      # optional; defaults to the file name
    input: [3, 224, 224]              # C, H, W  (also [C, L] and [C, D, H, W])
    blocks:                           # named, reusable blocks with arguments
      stage:
        args: {c: required, n: 2}
        layers:
          - {conv: {c: $c, k: 3, p: 1, act: relu}, repeat: $n}
          - maxpool: {k: 2}
    layers:
      - stage: {c: 64}
      - flatten
      - linear: {out: 1000}

specs/README.md documents every kind, option and merge by example.
"""

from __future__ import annotations

from pathlib import Path

from ..core.messages import Note
from ..core.errors import SpecError, quote, reason, shorten
from ..core.expr import evaluate
from ..core.formulas import ACTIVATIONS, KINDS
from ..core.layers import Elementwise, Norm
from ..core.limits import MAX_BUILT, MAX_FILE_BYTES, MAX_INSTANCES, MAX_NESTING, MAX_NODES, MAX_ROWS
from ..core.network import Group, LayerNode, Merge, Network, Ref, Repeat
from .files import read_text
from .yamlread import Map, Seq, read

MERGES = ("residual", "add", "concat", "multiply", "split")
SPLIT_KEYS = ("parts", "sizes", "paths", "then")
ITEM_KEYS = ("repeat", "name", "id", "from", "if", "frozen")
TOP_KEYS = ("name", "input", "args", "blocks", "layers", "source", "description")
SUGAR = {"conv": ("act", "bn"), "convT": ("act", "bn"), "linear": ("act", "bn"), "subsample": ("act",)}
NO_OPTIONS = ("global_avgpool", "global_maxpool", "mean")  # they pool to 1: an output size would be ignored
OPTION_ALIASES = {"kernel": "k", "kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d",
                  "channels": "c", "out_channels": "c", "ceil_mode": "ceil", "out_features": "out",
                  "output_size": "out", "scale_factor": "scale"}
KIND_ALIASES = {"conv2d": "conv", "conv1d": "conv", "conv3d": "conv", "deconv": "convT", "conv_transpose": "convT",
                "fc": "linear", "dense": "linear", "bn": "batchnorm", "ln": "layernorm", "gn": "groupnorm",
                "gap": "global_avgpool", "avg_pool": "avgpool", "max_pool": "maxpool", "swish": "silu"}


def typed(value):
    """A hashable key that tells `true` from 1 and 2.0 from 2."""
    if isinstance(value, dict):
        return ("map", tuple((typed(k), typed(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("seq", tuple(typed(v) for v in value))
    return (type(value).__name__, value)


def argument_key(env: dict) -> tuple:
    """Block arguments as a memo key: scalars by type and value, lists and mappings by identity
    (an argument passed down as `$x` is the same object all the way, and is never hashed whole)."""
    return tuple((name, ("object", id(v)) if isinstance(v, (list, dict)) else typed(v)) for name, v in env.items())


def line_of(container, key, default: int) -> int:
    if isinstance(container, Map):
        return container.key_lines.get(key, container.line)
    if isinstance(container, Seq) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return default


SYNONYMS = {"activation": "act", "batchnorm": "bn", "batch_norm": "bn", "kernel": "k", "kernel_size": "k", "stride": "s",
            "strides": "s", "padding": "p", "dilation": "d", "out_channels": "c", "filters": "c", "channels": "c", "units": "out",
            "out_features": "out", "num_groups": "groups", "scale_factor": "scale"}


def suggest(word, known) -> str:
    """'; did you mean …?' for the closest known word, to follow the offending value."""
    import difflib

    if not isinstance(word, str) or len(word) > 100:
        return ""
    known = [str(k) for k in known]
    if SYNONYMS.get(word.lower()) in known:  # PyTorch's and Keras' words for convcalc's short keys
        return Note("; did you mean {name}?", name=quote(SYNONYMS[word.lower()]))
    close = difflib.get_close_matches(word, known, n=1)
    return Note("; did you mean {name}?", name=quote(close[0])) if close else ""


def listing(names, most: int = 12) -> str:
    """'a, b, c' — the first `most` of them, and how many more."""
    names = [shorten(str(n), 40) for n in names]
    if len(names) <= most:
        return ", ".join(names)
    return Note("{items} and {count} more", items=", ".join(names[:most]), count=len(names) - most)


class _Builder:
    def __init__(self, filename: str, blocks: dict):
        self.filename = filename
        self.blocks = blocks
        self.rows: dict[int, int] = {}  # id(node) → rows it stands for, repeats multiplied out
        self.built = 0  # nodes actually built
        self.instances: dict[tuple, tuple] = {}  # (block, typed arguments) → its built layers
        self.ids: dict[str, tuple[int, str]] = {}  # id → (line, path) of the item that gives it
        self.records: dict[tuple, object] = {}  # identical layers share one record, computed once
        self.work = 0  # values read while building
        self.arguments: list[dict] = []

    def fail(self, line: int, path: str, message: str):
        raise SpecError(Note("{filename}:{line}: {path}: {message}", filename=self.filename, line=line, path=path, message=message))

    def counted(self, node, rows: int, line: int, path: str, item: bool = True):
        """Record how many rows `node` stands for, refusing a network past the budget before
        anything more is built."""
        self.built += item
        if rows > MAX_ROWS:
            self.fail(line, path, Note("the network would have more than {max_rows:,} rows (layers, blocks and merges, repeats "
                                    "multiplied out), got {rows:,}", max_rows=MAX_ROWS, rows=rows))
        if self.built > MAX_BUILT:
            self.fail(line, path, Note("the description builds more than {max_built:,} items (a block used with new arguments "
                                    "is built anew), got more", max_built=MAX_BUILT))
        self.rows[id(node)] = rows
        return node

    def size(self, nodes) -> int:
        return sum(self.rows[id(n)] for n in nodes)

    # values -----------------------------------------------------------------------------
    def substitute(self, value, env: dict, line: int, path: str):
        """Replace $arguments: `$c` by its value, `4*$c` by the integer it computes to."""
        self.work += 1
        if self.work > MAX_NODES:  # every value of every item built counts, aliases expanded
            self.fail(line, path, Note("building the description reads more than {max_nodes:,} values (aliases expanded, blocks "
                                    "counted once per set of arguments), got more", max_nodes=MAX_NODES))
        if isinstance(value, str) and "$" in value:
            name = value.strip()[1:]
            if value.strip().startswith("$") and name.isidentifier():
                if name not in env and not set(env) - {BUILT_IN}:  # no arguments declared at all: say how to declare one
                    self.fail(line, path, Note("unknown argument: declare it with a default, as args: {{{name}: 64}} at the top (or a "
                                               "block's args:), then --set {name}=… changes it, got {value}", name=name, value=quote(value)))
                if name not in env:
                    self.fail(line, path, Note("unknown argument (known: {value}), got {value2}{suggest}", value=listing('$' + k for k in env),
                                               value2=quote(value), suggest=suggest("$" + name, ["$" + k for k in env])))
                return env[name]
            try:
                return evaluate(value, env)
            except SpecError as error:
                self.fail(line, path, error.note)
        if isinstance(value, list):
            if not any(isinstance(v, (str, list, dict)) for v in value):
                self.work += len(value)
                return value
            result = Seq(self.substitute(v, env, line_of(value, i, line), path) for i, v in enumerate(value))
            result.line, result.item_lines = getattr(value, "line", line), getattr(value, "item_lines", [])
            return result
        if isinstance(value, dict):
            result = Map((k, self.substitute(v, env, line_of(value, k, line), f"{path}.{k}")) for k, v in value.items())
            result.line, result.key_lines = getattr(value, "line", line), getattr(value, "key_lines", {})
            return result
        return value

    # items ------------------------------------------------------------------------------
    def sequence(self, items, path: str, line: int, env: dict, stack: tuple, prefix: str) -> tuple:
        if not isinstance(items, list):
            self.fail(line, path, Note("must be a list of layers, got {value}", value=quote(items)))
        counters: dict[str, int] = {}
        nodes = []
        rows = 0
        for index, raw in enumerate(items):
            built = self.item(raw, f"{path}[{index}]", line_of(items, index, line), env, stack, prefix, counters)
            rows += self.size(built)
            if rows > MAX_ROWS:
                self.counted(None, rows, line_of(items, index, line), f"{path}[{index}]")
            nodes += built
        return tuple(nodes)

    def item(self, raw, path: str, line: int, env: dict, stack: tuple, prefix: str, counters: dict) -> list:
        if isinstance(raw, str):
            kind, options, extras = raw, None, {}
        elif isinstance(raw, dict):
            kinds = [k for k in raw if k not in ITEM_KEYS]
            if len(kinds) != 1:
                what = Note("more than one layer kind: {kinds}", kinds=listing(map(str, kinds))) if kinds else Note("no layer kind")
                self.fail(line, path, Note("each item needs exactly one layer kind, got {what}", what=what))
            kind = kinds[0]
            options, extras = raw[kind], {k: raw[k] for k in ITEM_KEYS if k in raw}
            line = line_of(raw, kind, line)
        else:
            self.fail(line, path, Note("must be a layer kind or a mapping such as {{conv: {{c: 64, k: 3}}}}, got {value}", value=quote(raw)))
        if not isinstance(kind, str):
            self.fail(line, path, Note("a layer kind must be a word, got {value}", value=quote(kind)))
        kind = KIND_ALIASES.get(kind, kind)
        path = f"{path}.{shorten(kind, 40)}"
        extras = {k: self.substitute(v, env, line, f"{path}.{k}") for k, v in extras.items()}
        if "if" in extras:  # an optional item: present when its condition holds
            condition = extras["if"]
            if not isinstance(condition, (bool, int)) and condition not in (None, "none"):
                self.fail(line, f"{path}.if", Note("must be true or false (or a number, none), got {value}", value=quote(condition)))
            if not condition or condition == "none":
                return []
        repeat = extras.get("repeat", 1)
        if type(repeat) is not int or repeat < 0:
            self.fail(line, f"{path}.repeat", Note("must be a non-negative integer, got {value}", value=quote(repeat)))
        if repeat == 0:  # an item repeated zero times is not there (a stage of n blocks, the first apart: n − 1)
            return []
        for key in ("name", "id", "from"):
            if key in extras and not isinstance(extras[key], str):
                self.fail(line, f"{path}.{key}", Note("must be a name (a string), got {value}", value=quote(extras[key])))
        node_id = extras.get("id")
        if node_id is not None:
            if repeat > 1:
                self.fail(line, f"{path}.id", Note("would name the outputs of all {repeat} repeats; give the id to a block around them, got "
                                                "{value}", repeat=repeat, value=quote(node_id)))
            first = self.ids.setdefault(node_id, (line, path))
            if first != (line, path):
                self.fail(line, f"{path}.id", Note("duplicate id: line {first} ({first2}) already gives it, got {value}", first=first[0], first2=first[1], value=quote(node_id)))
        first_number = counters.get(kind, 0) + 1
        counters[kind] = first_number + repeat - 1
        if "name" in extras:
            stem = f"{prefix}.{extras['name']}" if prefix else extras["name"]
        else:
            stem = f"{prefix}.{kind}" if prefix else kind
        name = stem if "name" in extras else f"{stem}{first_number}"
        nodes = self.build(kind, options, path, line, env, stack, name, node_id, extras.get("from"))
        if "frozen" in extras:
            if not isinstance(extras["frozen"], bool):
                self.fail(line, f"{path}.frozen", Note("must be true or false, got {value}", value=quote(extras["frozen"])))
            if extras["frozen"]:  # nothing inside is trained
                frozen = [node._replace(frozen=True) for node in nodes]
                for old, new in zip(nodes, frozen):
                    self.rows[id(new)] = self.rows[id(old)]
                nodes = frozen
        if repeat == 1:
            return nodes
        # one copy's nodes, named relative to the copy: "" for the layer, ".relu" for its sugar
        unit = tuple(node._replace(name=node.name[len(name):]) for node in nodes)
        repeated = Repeat(unit, repeat, stem, first_number, "name" in extras)
        return [self.counted(repeated, repeat * self.size(nodes), line, f"{path}.repeat")]

    def build(self, kind, options, path, line, env, stack, name, node_id, source) -> list:
        where = f"{self.filename}:{line}: {path}"
        if kind in MERGES:
            return [self.merge(kind, options, path, line, env, stack, name, node_id, source)]
        if kind in self.blocks:
            return [self.block(kind, options, path, line, env, stack, name, node_id, source)]
        if kind not in KINDS:
            known = sorted(KINDS) + list(MERGES) + sorted(self.blocks)
            self.fail(line, path, Note("unknown layer kind (known: {known}), got {value}{suggest}", known=listing(known, 60), value=quote(kind), suggest=suggest(kind, known)))
        layer, sugar = self.layer(kind, self.substitute(options, env, line, path), path, line)
        layer = self.records.setdefault((type(layer), typed(list(layer))), layer)  # one record for identical layers
        nodes = [self.counted(LayerNode(name, layer, where, None, source), 1, line, path)]
        for sugar_kind, sugar_layer in sugar:
            nodes.append(self.counted(LayerNode(f"{name}.{sugar_kind}", sugar_layer, where), 1, line, path, False))
        last = nodes[-1]
        nodes[-1] = self.counted(LayerNode(last.name, last.layer, last.where, node_id, last.source), 1, line, path, False)
        return nodes

    def layer(self, kind: str, options, path: str, line: int):
        """The layer record for `kind`, and the layers its `act:`/`bn:` sugar adds after it."""
        cls = KINDS[kind].layer
        fields = {} if kind in NO_OPTIONS else cls.keys  # user's option name → field name
        if options is None:
            options = Map()
        if not isinstance(options, dict):
            self.fail(line, path, Note("options must be a mapping such as {{k: 3}}, got {value}", value=quote(options)))
        sugar_keys = SUGAR.get(kind, ())
        extra_keys = ("p",) if kind == "dropout" else ()
        values, sugar, given = {}, [], {}
        required = [k for k, name in fields.items() if name not in cls._field_defaults]
        for raw_key, value in options.items():
            key_line = line_of(options, raw_key, line)
            key = OPTION_ALIASES.get(raw_key, raw_key)
            where = f"{path}.{shorten(str(key), 40)}"
            if key in given:
                self.fail(key_line, path, Note("{given} and {raw_key} both set {key}; keep one, got {value}", given=given[key], raw_key=raw_key, key=key, value=quote(raw_key)))
            given[key] = raw_key
            if key in fields:
                values[fields[key]] = self.check(key, cls._field_defaults.get(fields[key], _MISSING), value, key_line, where)
            elif key in sugar_keys or key in extra_keys:
                sugar += self.sugar(kind, key, value, key_line, where)
            else:
                known = list(fields) + list(sugar_keys) + list(extra_keys)
                listed = Note("known: {names}", names=", ".join(known)) if known else Note("{kind} takes no options", kind=kind)
                self.fail(key_line, path, Note("unknown option ({listed}), got {value}{suggest}", listed=listed, value=quote(raw_key), suggest=suggest(raw_key, known)))
        missing = [k for k in required if fields[k] not in values]
        if missing:
            self.fail(line, path, Note("missing option {missing} ({kind} needs {required}), got {value}",
                missing=", ".join(missing), kind=kind, required=", ".join(required), value=quote(options) if options else Note("no options")))
        values["kind"] = kind
        return cls(**values), sugar

    def check(self, key: str, default, value, line: int, where: str):
        """YAML types to the layer's types; value ranges are the formulas' to check."""
        if key in ("bias", "ceil", "affine", "grid", "cosine", "pad"):
            if not isinstance(value, bool):
                self.fail(line, where, Note("must be true or false, got {value}", value=quote(value)))
            return value
        if key == "mode":
            if not isinstance(value, str):
                self.fail(line, where, Note("must be a word (nearest, bilinear; zeros, reflect, replicate), got {value}", value=quote(value)))
            return value
        if key == "position_bias":
            if not isinstance(value, str):
                self.fail(line, where, Note("must be none, table or mlp, got {value}", value=quote(value)))
            return value
        if key == "op":
            if not isinstance(value, str) or not value:
                self.fail(line, where, Note("must be the operation's name (a string), got {value}", value=quote(value)))
            return value
        if key == "like":
            if not isinstance(value, str):
                self.fail(line, where, Note("an id must be a name (a string), got {value}", value=quote(value)))
            return value
        if key == "factor":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(line, where, Note("must be a positive number, got {value}", value=quote(value)))
            return value
        if key == "table":
            if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
                self.fail(line, where, Note("must be a list with one list of input channels per output channel, got {value}", value=quote(value)))
            return tuple(tuple(row) for row in value)
        if key == "p" and isinstance(value, str):
            return value
        if key == "p" and isinstance(value, list) and value and all(
                type(v) is int or (isinstance(v, list) and len(v) == 2 and all(type(x) is int for x in v)) for v in value):
            return tuple(tuple(v) if isinstance(v, list) else v for v in value)  # per axis: a number or [before, after]
        if isinstance(value, list) and value and all(type(v) is int for v in value):
            return tuple(value)
        if type(value) is int:
            return value
        if value is None and default is None:  # an option whose absence means something
            return None
        kind = Note("a non-negative integer") if key in ("p", "output_padding", "p_total", "shift") else Note("a positive integer")
        self.fail(line, where, Note("must be {kind} or a list of them (one per axis), got {value}", kind=kind, value=quote(value)))

    def sugar(self, kind: str, key: str, value, line: int, where: str) -> list:
        if kind == "dropout":  # the probability changes no figure; check it all the same
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                self.fail(line, where, Note("must be a probability from 0 to 1, got {value}", value=quote(value)))
            return []
        if key == "bn":
            if not isinstance(value, bool):
                self.fail(line, where, Note("must be true or false, got {value}", value=quote(value)))
            return [("bn", Norm())] if value else []
        if value is None or value == "none":  # no activation (an argument may say so)
            return []
        if not isinstance(value, str) or KIND_ALIASES.get(value, value) not in ACTIVATIONS:
            self.fail(line, where, Note("must be an activation ({items}), got {value}{suggest}", items=', '.join(ACTIVATIONS), value=quote(value), suggest=suggest(value, ACTIVATIONS)))
        act = KIND_ALIASES.get(value, value)
        return [(act, Elementwise(act))]

    def block(self, kind, options, path, line, env, stack, name, node_id, source) -> Group:
        if kind in stack:
            chain = " → ".join((*stack[stack.index(kind):], kind))
            self.fail(line, path, Note("block uses itself: {chain}, got {value}", chain=chain, value=quote(kind)))
        if len(stack) >= MAX_NESTING:
            self.fail(line, path, Note("blocks nest deeper than {max_nesting} levels, got {value}", max_nesting=MAX_NESTING, value=len(stack) + 1))
        definition = self.blocks[kind]
        given = self.substitute(options, env, line, path) if options is not None else {}
        if not isinstance(given, dict):
            self.fail(line, path, Note("arguments must be a mapping such as {{c: 64}}, got {value}", value=quote(given)))
        args = definition.get("args") or {}
        unknown = [k for k in given if k not in args]
        if unknown:
            self.fail(line_of(given, unknown[0], line), path, Note("unknown argument (block {kind} takes: {value}), got {value2}{suggest}", kind=kind, value=listing(args) or Note('none'), value2=quote(unknown[0]), suggest=suggest(unknown[0], args)))
        block_env = {}
        for arg, default in args.items():
            if arg in given:
                block_env[arg] = given[arg]
            elif default == "required":
                self.fail(line, path, Note("missing argument {arg} (block {kind} needs it), got none", arg=arg, kind=kind))
            else:
                block_env[arg] = default
        key = (kind, argument_key(block_env))
        children = self.instances.get(key)
        if children is None and len(self.instances) >= MAX_INSTANCES:
            self.fail(line, path, Note("the description uses blocks with more than {max_instances:,} different sets of "
                                    "arguments, got {value}", max_instances=MAX_INSTANCES, value=quote(dict(block_env))))
        if children is None:  # the same block with the same arguments builds the same layers
            body_line = line_of(definition, "layers", line)
            children = self.sequence(definition.get("layers"), f"blocks.{kind}.layers", body_line, block_env, (*stack, kind), "")
            self.instances[key] = children
            self.arguments.append(block_env)  # keeps the objects whose ids are in the key alive
        group = Group(name, kind, children, f"{self.filename}:{line}: {path}", node_id, source)
        return self.counted(group, 1 + self.size(children), line, path)

    def split(self, options, path, line, env, stack, name, node_id, source) -> Merge:
        """Channels split among paths (parts: n equal parts, or sizes: [a, b, …]), each path run on its
        part, the results concatenated (then: concat) or added (then: add)."""
        where = f"{self.filename}:{line}: {path}"
        if not isinstance(options, dict) or "paths" not in options or ("parts" in options) == ("sizes" in options):
            self.fail(line, path, Note("needs paths: and either parts: (equal parts) or sizes: (one per path), got {value}", value=quote(options)))
        unknown = [k for k in options if k not in SPLIT_KEYS]
        if unknown:
            self.fail(line_of(options, unknown[0], line), path, Note("unknown option (known: {known}), got {value}{suggest}",
                known=", ".join(SPLIT_KEYS), value=quote(unknown[0]), suggest=suggest(unknown[0], SPLIT_KEYS)))
        raw_paths = options["paths"]
        if not isinstance(raw_paths, list) or len(raw_paths) < 2 or not all(isinstance(p, list) for p in raw_paths):
            self.fail(line_of(options, "paths", line), f"{path}.paths", Note("needs a list of at least two paths (lists of layers, [] for a part "
                                                                           "itself), got {value}", value=quote(raw_paths)))
        if "parts" in options:
            split = self.substitute(options["parts"], env, line, f"{path}.parts")
            if type(split) is not int or split < 1:
                self.fail(line_of(options, "parts", line), f"{path}.parts", Note("must be a positive integer, got {value}", value=quote(split)))
        else:
            sizes = self.substitute(options["sizes"], env, line, f"{path}.sizes")
            if not isinstance(sizes, list) or not all(type(v) is int and v > 0 for v in sizes):
                self.fail(line_of(options, "sizes", line), f"{path}.sizes", Note("must list positive integers, one per path, got {value}", value=quote(sizes)))
            split = tuple(sizes)
        then = self.substitute(options.get("then", "concat"), env, line, f"{path}.then")
        if then not in ("concat", "add"):
            self.fail(line_of(options, "then", line), f"{path}.then", Note("must be concat or add, got {value}", value=quote(then)))
        paths = tuple(self.sequence(p, f"{path}.paths[{i}]", line_of(raw_paths, i, line), env, stack, str(i)) for i, p in enumerate(raw_paths))
        merge = Merge(name, then, paths, tuple(f"part {i}" for i in range(len(paths))), "identity", where, node_id, source, "split", split)
        return self.counted(merge, 2 + sum(self.size(p) for p in paths), line, path)

    def merge(self, kind, options, path, line, env, stack, name, node_id, source) -> Merge:
        where = f"{self.filename}:{line}: {path}"
        if kind == "split":
            return self.split(options, path, line, env, stack, name, node_id, source)
        if kind == "residual":
            shortcut = "auto"
            if isinstance(options, dict):
                unknown = [k for k in options if k not in ("layers", "shortcut")]
                if unknown:
                    self.fail(line, path, Note("unknown option (known: layers, shortcut), got {value}{suggest}", value=quote(unknown[0]), suggest=suggest(unknown[0], ('layers', 'shortcut'))))
                shortcut = self.substitute(options.get("shortcut", "auto"), env, line, f"{path}.shortcut")
                body, body_line = options.get("layers"), line_of(options, "layers", line)
            else:
                body, body_line = options, line
            main = self.sequence(body, f"{path}.layers" if isinstance(options, dict) else path, body_line, env, stack, "main")
            if isinstance(shortcut, list):
                other = self.sequence(shortcut, f"{path}.shortcut", line, env, stack, "shortcut")
                merge = Merge(name, "add", (main, other), ("main", "shortcut"), "identity", where, node_id, source, "residual")
                return self.counted(merge, 2 + self.size(main) + self.size(other), line, path)
            if shortcut not in ("auto", "identity", "if_same", "none"):
                self.fail(line, f"{path}.shortcut", Note("must be auto, identity, if_same, none or a list of layers, got {value}", value=quote(shortcut)))
            if shortcut == "none":
                return self.counted(Group(name, "residual", main, where, node_id, source), 1 + self.size(main), line, path)
            merge = Merge(name, "add", (main, ()), ("main", "shortcut"), shortcut, where, node_id, source, "residual")
            return self.counted(merge, 4 + self.size(main), line, path)
        if not isinstance(options, list) or len(options) < 2:
            self.fail(line, path, Note("needs a list of at least two paths (a path is a list of layers, [] for the input "
                                    "itself, or an id), got {value}", value=quote(options)))
        paths, names = [], []
        for index, path_items in enumerate(options):
            path_line = line_of(options, index, line)
            if isinstance(path_items, str) and "$" in path_items:  # an id passed as an argument
                path_items = self.substitute(path_items, env, path_line, f"{path}[{index}]")
                if not isinstance(path_items, str):
                    self.fail(path_line, f"{path}[{index}]", Note("an id must be a name (a string), got {value}", value=quote(path_items)))
            if isinstance(path_items, str):
                paths.append(Ref(path_items, f"{self.filename}:{path_line}: {path}[{index}]"))
                names.append(path_items)
            else:
                paths.append(self.sequence(path_items, f"{path}[{index}]", path_line, env, stack, str(index)))
                names.append(f"path {index}")
        rows = 2 + sum(self.size(p) for p in paths if not isinstance(p, Ref))
        return self.counted(Merge(name, kind, tuple(paths), tuple(names), "identity", where, node_id, source, kind), rows, line, path)


_MISSING = object()


def check_blocks(raw, filename: str, line: int) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(Note("{filename}:{line}: blocks: must be a mapping of block names to definitions, got {value}", filename=filename, line=line, value=quote(raw)))
    for name, definition in raw.items():
        where = f"{filename}:{line_of(raw, name, line)}: blocks.{shorten(str(name), 40)}"
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(Note("{where}: a block name must be a word, got {value}", where=where, value=quote(name)))
        if name in KINDS or name in MERGES or name in KIND_ALIASES:
            raise SpecError(Note("{where}: a block cannot take the name of a layer kind, got {value}", where=where, value=quote(name)))
        if not isinstance(definition, dict) or "layers" not in definition:
            raise SpecError(Note("{where}: needs `layers:` (and optionally `args:`), got {value}", where=where, value=quote(definition)))
        unknown = [k for k in definition if k not in ("args", "layers", "description")]
        if unknown:
            raise SpecError(Note("{where}: unknown key (known: args, layers, description), got {value}", where=where, value=quote(unknown[0])))
        args = definition.get("args")
        if args is not None and (not isinstance(args, dict) or not all(isinstance(a, str) and a.isidentifier() for a in args)):
            raise SpecError(Note("{where}.args: must map argument names to defaults (or `required`), got {value}", where=where, value=quote(args)))
    return raw


def check_input(value, filename: str, line: int) -> tuple[int, ...]:
    """[C, H, W] (or [C, L], [C, D, H, W]), or [F] for a network of linear layers (an MLP)."""
    if not isinstance(value, list) or not 1 <= len(value) <= 4 or any(type(v) is not int or v < 1 for v in value):
        raise SpecError(Note("{filename}:{line}: input: must be [C, H, W], [C, L], [C, D, H, W] or [F] (features) "
                          "with positive integers, got {value}", filename=filename, line=line, value=quote(value)))
    return tuple(value)


BUILT_IN = "in_channels"  # the one argument every description has: its input's channels


def network_arguments(raw, given: dict | None, filename: str, line: int) -> dict:
    """The description's `args:` (name → default, or `required`), with the values given on the
    command line (`--set classes=10`) in place of the defaults."""
    given = given or {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or not all(isinstance(a, str) and a.isidentifier() for a in raw):
        raise SpecError(Note("{filename}:{line}: args: must map argument names to defaults (or `required`), got {value}",
            filename=filename, line=line, value=quote(raw)))
    unknown = [k for k in given if k not in raw]
    if unknown:
        raise SpecError(Note("--set: unknown argument (the network takes: {known}), got {value}{suggest}",
            known=listing(raw) or Note("none"), value=quote(unknown[0]), suggest=suggest(unknown[0], raw)))
    env = {}
    for name, default in raw.items():
        if name in given:
            env[name] = given[name]
        elif default == "required":
            raise SpecError(Note("--set: the network needs {name} (--set {name}=…), got none", name=name))
        else:
            env[name] = default
    return env


def loads(text: str, filename: str = "<string>", input_shape: tuple[int, ...] | None = None,
          arguments: dict | None = None, scale: str | None = None, fuse: bool = False) -> Network:
    """A network from the text of a description; `input_shape` overrides its `input:`, `arguments`
    the defaults of its `args:`.

    >>> from convcalc import analyze, loads
    >>> analyze(loads("input: [3, 32, 32]\\nlayers:\\n  - conv: {c: 16, k: 3, p: 1}\\n")).params
    448
    """
    if not isinstance(text, str):
        raise SpecError(Note("{filename}: a description must be text, got {value}", filename=filename, value=quote(text)))
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(Note("{filename}: a description is at most {max_file_bytes:,} characters (write long networks "
                          "with blocks and repeat), got {count:,}", filename=filename, max_file_bytes=MAX_FILE_BYTES, count=len(text)))
    raw = read(text, filename)
    if isinstance(raw, dict) and "backbone" in raw and "head" in raw and "layers" not in raw:  # Ultralytics' form (yolov8.yaml)
        from .ultralytics import read_ultralytics

        return read_ultralytics(raw, filename, input_shape, arguments, scale, fuse)
    if fuse:
        raise SpecError(Note("--fuse: folds batchnorm in Darknet .cfg and Ultralytics model files, got {value}", value=quote(filename)))
    if not isinstance(raw, dict):
        raise SpecError(Note("{filename}:1: must be a mapping with input: and layers:, got {value}", filename=filename, value=quote(raw)))
    unknown = [k for k in raw if k not in TOP_KEYS]
    if unknown:
        raise SpecError(Note("{filename}:{line_of}: unknown key (known: {items}), got {value}{suggest}", filename=filename, line_of=line_of(raw, unknown[0], 1), items=', '.join(TOP_KEYS), value=quote(unknown[0]), suggest=suggest(unknown[0], TOP_KEYS)))
    for key in ("input", "layers"):
        if key not in raw and not (key == "input" and input_shape):
            raise SpecError(Note("{filename}:{line}: missing `{key}:`, got keys {value}", filename=filename, line=raw.line, key=key, value=listing(map(str, raw)) or Note('none')))
    name = raw.get("name", Path(filename).stem)
    if not isinstance(name, str):
        raise SpecError(Note("{filename}:{line_of}: name: must be a string, got {value}", filename=filename, line_of=line_of(raw, 'name', 1), value=quote(name)))
    own = check_input(raw["input"], filename, line_of(raw, "input", 1)) if "input" in raw else None
    if input_shape and own:
        from .inputs import check_override

        check_override(input_shape, own, name)
    shape = input_shape or own
    if raw["layers"] == []:
        raise SpecError(Note("{filename}:{line_of}: layers: must list at least one layer, got []", filename=filename, line_of=line_of(raw, 'layers', 1)))
    builder = _Builder(filename, check_blocks(raw.get("blocks"), filename, line_of(raw, "blocks", 1)))
    env = network_arguments(raw.get("args"), arguments, filename, line_of(raw, "args", 1))
    env.setdefault(BUILT_IN, shape[0])  # the input's channels, for a block described on its own (C/r in SE)
    body = builder.sequence(raw["layers"], "layers", line_of(raw, "layers", 1), env, (), "")
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise SpecError(Note("{filename}:{line_of}: source: must be a string, got {value}", filename=filename, line_of=line_of(raw, 'source', 1), value=quote(source)))
    return Network(name, shape, body, source)


def load(path: Path | str, input_shape: tuple[int, ...] | None = None, arguments: dict | None = None, fuse: bool = False) -> Network:
    """A network from a description file, a bundled network's name, or any file `convcalc net` reads
    (ONNX, Darknet, Ultralytics, `file.py:Name`); `input_shape` (C×H×W) overrides its input,
    `arguments` the description's `args:`.

    >>> from convcalc import analyze, load
    >>> analyze(load("resnet50", input_shape=(3, 160, 160))).output_shape
    (1000,)
    """
    if isinstance(path, str):
        from .sources import open_network

        return open_network(path, input_shape, arguments, fuse)
    scale = None
    if "yolo" in path.stem.lower():  # Ultralytics' naming: yolov8n.yaml is its yolov8.yaml at scale n
        from .ultralytics import model_file

        path, scale = model_file(path)
    try:
        if path.stat().st_size > 4 * MAX_FILE_BYTES:  # a UTF-8 character is at most 4 bytes
            raise SpecError(Note("{path}: a description is at most {max_file_bytes:,} characters (write long networks "
                              "with blocks and repeat), got a file of {st_size:,} bytes", path=shorten(str(path)), max_file_bytes=MAX_FILE_BYTES, st_size=path.stat().st_size))
        text = read_text(path, 4 * MAX_FILE_BYTES)
    except (OSError, UnicodeDecodeError) as error:
        what = reason(error)
        raise SpecError(Note("{path}: cannot read the file: {what}, got {value}", path=shorten(str(path)), what=what, value=quote(str(path)))) from None
    return loads(text, shorten(path.name), input_shape, arguments, scale, fuse)
