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

import yaml

from .errors import SpecError
from .expr import evaluate
from .formulas import ACTIVATIONS, KINDS
from .layers import Elementwise, Norm
from .network import Group, LayerNode, Merge, Network, Ref

MAX_LAYERS = 1_000_000
MERGES = ("residual", "add", "concat", "multiply")
ITEM_KEYS = ("repeat", "name", "id", "from")
TOP_KEYS = ("name", "input", "blocks", "layers", "source", "description")
SUGAR = {"conv": ("act", "bn"), "convT": ("act", "bn"), "linear": ("act", "bn"), "subsample": ("act",)}
OPTION_ALIASES = {"kernel": "k", "kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d",
                  "channels": "c", "out_channels": "c", "ceil_mode": "ceil", "out_features": "out",
                  "output_size": "out", "scale_factor": "scale"}
KIND_ALIASES = {"conv2d": "conv", "conv1d": "conv", "conv3d": "conv", "deconv": "convT", "conv_transpose": "convT",
                "fc": "linear", "dense": "linear", "bn": "batchnorm", "ln": "layernorm", "gn": "groupnorm",
                "gap": "global_avgpool", "avg_pool": "avgpool", "max_pool": "maxpool", "swish": "silu"}


def yaml_repr(value) -> str:
    """A value the way the user wrote it in YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_repr(v)}" for k, v in value.items()) + "}"
    return repr(value) if not isinstance(value, list) else "[" + ", ".join(yaml_repr(v) for v in value) + "]"


class _Map(dict):
    line = 0
    key_lines: dict


class _Seq(list):
    line = 0
    item_lines: list


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader (libyaml's when present), keeping the line of every key and item."""


def _mapping(loader, node):
    loader.flatten_mapping(node)
    result = _Map()
    result.line, result.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise SpecError(f"{line}: a key must be a plain word, got {yaml_repr(key)}")
        if key in result:
            raise SpecError(f"{line}: duplicate key, got {key!r} twice")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _sequence(loader, node):
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.item_lines = node.start_mark.line + 1, [c.start_mark.line + 1 for c in node.value]
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def parse_yaml(text: str, filename: str):
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = f"{mark.line + 1}:" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{filename}:{line} YAML syntax: {problem}") from None
    except SpecError as error:
        raise SpecError(f"{filename}:{error}") from None
    except RecursionError:
        raise SpecError(f"{filename}: YAML nesting is too deep to read") from None


def line_of(container, key, default: int) -> int:
    if isinstance(container, _Map):
        return container.key_lines.get(key, container.line)
    if isinstance(container, _Seq) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return default


def suggest(word: str, known) -> str:
    """'; did you mean …?' for the closest known word, to follow the offending value."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


_MISSING = object()


class _Builder:
    def __init__(self, filename: str, blocks: dict):
        self.filename = filename
        self.blocks = blocks
        self.leaves = 0
        # repeats rebuild the same layers from the same text and arguments: build each once
        self.built: dict[tuple, tuple] = {}

    def fail(self, line: int, path: str, message: str):
        raise SpecError(f"{self.filename}:{line}: {path}: {message}")

    # values -----------------------------------------------------------------------------
    def substitute(self, value, env: dict, line: int, path: str):
        """Replace $arguments: `$c` by its value, `4*$c` by the integer it computes to."""
        if isinstance(value, str) and "$" in value:
            name = value.strip()[1:]
            if value.strip().startswith("$") and name.isidentifier():
                if name not in env:
                    self.fail(line, path, f"unknown argument (known: {', '.join('$' + k for k in env) or 'none'}), got {value!r}")
                return env[name]
            try:
                return evaluate(value, env)
            except SpecError as error:
                self.fail(line, path, str(error))
        if isinstance(value, list):
            return [self.substitute(v, env, line, path) for v in value]
        if isinstance(value, dict):
            result = _Map((k, self.substitute(v, env, line_of(value, k, line), f"{path}.{k}")) for k, v in value.items())
            result.line, result.key_lines = getattr(value, "line", line), getattr(value, "key_lines", {})
            return result
        return value

    # items ------------------------------------------------------------------------------
    def sequence(self, items, path: str, line: int, env: dict, stack: tuple, prefix: str) -> tuple:
        if not isinstance(items, list):
            self.fail(line, path, f"must be a list of layers, got {yaml_repr(items)}")
        counters: dict[str, int] = {}
        nodes = []
        for index, raw in enumerate(items):
            nodes += self.item(raw, f"{path}[{index}]", line_of(items, index, line), env, stack, prefix, counters)
        return tuple(nodes)

    def item(self, raw, path: str, line: int, env: dict, stack: tuple, prefix: str, counters: dict) -> list:
        if isinstance(raw, str):
            kind, options, extras = raw, None, {}
        elif isinstance(raw, dict):
            kinds = [k for k in raw if k not in ITEM_KEYS]
            if len(kinds) != 1:
                what = f"more than one layer kind: {', '.join(map(str, kinds))}" if kinds else "no layer kind"
                self.fail(line, path, f"each item needs exactly one layer kind, got {what}")
            kind = kinds[0]
            options, extras = raw[kind], {k: raw[k] for k in ITEM_KEYS if k in raw}
            line = line_of(raw, kind, line)
        else:
            self.fail(line, path, f"must be a layer kind or a mapping such as {{conv: {{c: 64, k: 3}}}}, got {yaml_repr(raw)}")
        if not isinstance(kind, str):
            self.fail(line, path, f"a layer kind must be a word, got {yaml_repr(kind)}")
        kind = KIND_ALIASES.get(kind, kind)
        path = f"{path}.{kind}"
        extras = {k: self.substitute(v, env, line, f"{path}.{k}") for k, v in extras.items()}
        repeat = extras.get("repeat", 1)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
            self.fail(line, f"{path}.repeat", f"must be a positive integer, got {yaml_repr(repeat)}")
        for key in ("name", "id", "from"):
            if key in extras and not isinstance(extras[key], str):
                self.fail(line, f"{path}.{key}", f"must be a name (a string), got {yaml_repr(extras[key])}")
        if "id" in extras and repeat > 1:
            self.fail(line, f"{path}.id", f"would name the outputs of all {repeat} repeats; give the id to a block around them, got {extras['id']!r}")
        nodes = []
        for copy in range(repeat):
            before = self.leaves
            counters[kind] = counters.get(kind, 0) + 1
            if "name" in extras:
                name = extras["name"] if repeat == 1 else f"{extras['name']}.{copy}"
            else:
                name = f"{kind}{counters[kind]}"
            full = f"{prefix}.{name}" if prefix else name
            nodes += self.build(kind, options, path, line, env, stack, full, extras.get("id"), extras.get("from"))
            if copy == 0 and repeat > 1 and before + (self.leaves - before) * repeat > MAX_LAYERS:
                self.fail(line, f"{path}.repeat", f"{repeat} copies of {self.leaves - before} layers would make more than "
                          f"{MAX_LAYERS:,} layers, got {repeat}")
        return nodes

    def build(self, kind, options, path, line, env, stack, name, node_id, source) -> list:
        where = f"{self.filename}:{line}: {path}"
        if kind in MERGES:
            return [self.merge(kind, options, path, line, env, stack, name, node_id, source)]
        if kind in self.blocks:
            return [self.block(kind, options, path, line, env, stack, name, node_id, source)]
        if kind not in KINDS:
            known = sorted(KINDS) + list(MERGES) + sorted(self.blocks)
            self.fail(line, path, f"unknown layer kind (known: {', '.join(known)}), got {kind!r}{suggest(kind, known)}")
        try:
            memo = (kind, id(options), line, tuple(env.items()))
            hash(memo)
        except TypeError:  # an argument holds a list: build without the memo
            memo = None
        if memo in self.built:
            layer, sugar = self.built[memo]
        else:
            layer, sugar = self.layer(kind, self.substitute(options, env, line, path), path, line)
            if memo is not None:
                self.built[memo] = (layer, sugar)
        self.leaves += 1 + len(sugar)
        if self.leaves > MAX_LAYERS:
            self.fail(line, path, f"the network has more than {MAX_LAYERS:,} layers, got more")
        nodes = [LayerNode(name, layer, where, None, source)]
        for sugar_kind, sugar_layer in sugar:
            nodes.append(LayerNode(f"{name}.{sugar_kind}", sugar_layer, where))
        last = nodes[-1]
        nodes[-1] = LayerNode(last.name, last.layer, last.where, node_id, last.source)
        return nodes

    def layer(self, kind: str, options, path: str, line: int):
        """The layer record for `kind`, and the layers its `act:`/`bn:` sugar adds after it."""
        cls = KINDS[kind].layer
        fields = cls.keys  # user's option name → field name
        if options is None:
            options = _Map()
        if not isinstance(options, dict):
            self.fail(line, path, f"options must be a mapping such as {{k: 3}}, got {yaml_repr(options)}")
        sugar_keys = SUGAR.get(kind, ())
        extra_keys = ("p",) if kind == "dropout" else ()
        values, sugar = {}, []
        required = [k for k, name in fields.items() if name not in cls._field_defaults]
        for key, value in options.items():
            key_line = line_of(options, key, line)
            key = OPTION_ALIASES.get(key, key)
            where = f"{path}.{key}"
            if key in fields:
                values[fields[key]] = self.check(key, cls._field_defaults.get(fields[key], _MISSING), value, key_line, where)
            elif key in sugar_keys or key in extra_keys:
                sugar += self.sugar(kind, key, value, key_line, where)
            else:
                known = list(fields) + list(sugar_keys) + list(extra_keys)
                listed = f"known: {', '.join(known)}" if known else f"{kind} takes no options"
                self.fail(key_line, path, f"unknown option ({listed}), got {key!r}{suggest(key, known)}")
        missing = [k for k in required if fields[k] not in values]
        if missing:
            self.fail(line, path, f"missing option{'s' if len(missing) > 1 else ''} {', '.join(missing)} ({kind} needs {', '.join(required)}), got {yaml_repr(options) if options else 'no options'}")
        values["kind"] = kind
        return cls(**values), sugar

    def check(self, key: str, default, value, line: int, where: str):
        """YAML types to the layer's types; value ranges are the formulas' to check."""
        if key in ("bias", "ceil", "affine"):
            if not isinstance(value, bool):
                self.fail(line, where, f"must be true or false, got {yaml_repr(value)}")
            return value
        if key == "mode":
            if not isinstance(value, str):
                self.fail(line, where, f"must be nearest or bilinear, got {yaml_repr(value)}")
            return value
        if key == "table":
            if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
                self.fail(line, where, f"must be a list with one list of input channels per output channel, got {yaml_repr(value)}")
            return tuple(tuple(row) for row in value)
        if key == "p" and isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return tuple(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if value is None and default is None:  # an option whose absence means something
            return None
        kind = "a non-negative integer" if key in ("p", "output_padding") else "a positive integer"
        self.fail(line, where, f"must be {kind} or a list of them (one per axis), got {yaml_repr(value)}")

    def sugar(self, kind: str, key: str, value, line: int, where: str) -> list:
        if kind == "dropout":  # the probability changes no figure; check it all the same
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                self.fail(line, where, f"must be a probability from 0 to 1, got {yaml_repr(value)}")
            return []
        if key == "bn":
            if not isinstance(value, bool):
                self.fail(line, where, f"must be true or false, got {yaml_repr(value)}")
            return [("bn", Norm())] if value else []
        if not isinstance(value, str) or KIND_ALIASES.get(value, value) not in ACTIVATIONS:
            self.fail(line, where, f"must be an activation ({', '.join(ACTIVATIONS)}), got {yaml_repr(value)}{suggest(value, ACTIVATIONS)}")
        act = KIND_ALIASES.get(value, value)
        return [(act, Elementwise(act))]

    def block(self, kind, options, path, line, env, stack, name, node_id, source) -> Group:
        if kind in stack:
            chain = " → ".join((*stack[stack.index(kind):], kind))
            self.fail(line, path, f"block uses itself: {chain}")
        definition = self.blocks[kind]
        given = self.substitute(options, env, line, path) if options is not None else {}
        if not isinstance(given, dict):
            self.fail(line, path, f"arguments must be a mapping such as {{c: 64}}, got {yaml_repr(given)}")
        args = definition.get("args") or {}
        unknown = [k for k in given if k not in args]
        if unknown:
            self.fail(line_of(given, unknown[0], line), path, f"unknown argument (block {kind} takes: {', '.join(map(str, args)) or 'none'}), got {unknown[0]!r}{suggest(unknown[0], args)}")
        block_env = {}
        for arg, default in args.items():
            if arg in given:
                block_env[arg] = given[arg]
            elif default == "required":
                self.fail(line, path, f"missing argument {arg} (block {kind} needs it), got none")
            else:
                block_env[arg] = default
        body_line = line_of(definition, "layers", line)
        children = self.sequence(definition.get("layers"), f"blocks.{kind}.layers", body_line, block_env, (*stack, kind), name)
        return Group(name, kind, children, f"{self.filename}:{line}: {path}", node_id, source)

    def merge(self, kind, options, path, line, env, stack, name, node_id, source) -> Merge:
        where = f"{self.filename}:{line}: {path}"
        if kind == "residual":
            shortcut = "auto"
            if isinstance(options, dict):
                unknown = [k for k in options if k not in ("layers", "shortcut")]
                if unknown:
                    self.fail(line, path, f"unknown option (known: layers, shortcut), got {unknown[0]!r}{suggest(unknown[0], ('layers', 'shortcut'))}")
                shortcut = self.substitute(options.get("shortcut", "auto"), env, line, f"{path}.shortcut")
                body, body_line = options.get("layers"), line_of(options, "layers", line)
            else:
                body, body_line = options, line
            main = self.sequence(body, f"{path}.layers" if isinstance(options, dict) else path, body_line, env, stack, f"{name}.main")
            if isinstance(shortcut, list):
                other = self.sequence(shortcut, f"{path}.shortcut", line, env, stack, f"{name}.shortcut")
                return Merge(name, "add", (main, other), ("main", "shortcut"), "identity", where, node_id, source, "residual")
            if shortcut not in ("auto", "identity", "if_same", "none"):
                self.fail(line, f"{path}.shortcut", f"must be auto, identity, if_same, none or a list of layers, got {yaml_repr(shortcut)}")
            if shortcut == "none":
                return Group(name, "residual", main, where, node_id, source)
            return Merge(name, "add", (main, ()), ("main", "shortcut"), shortcut, where, node_id, source, "residual")
        if not isinstance(options, list) or len(options) < 2:
            self.fail(line, path, f"needs a list of at least two paths (a path is a list of layers, [] for the input itself, or an id), got {yaml_repr(options)}")
        paths, names = [], []
        for index, path_items in enumerate(options):
            path_line = line_of(options, index, line)
            if isinstance(path_items, str):
                paths.append(Ref(path_items, f"{self.filename}:{path_line}: {path}[{index}]"))
                names.append(path_items)
            else:
                paths.append(self.sequence(path_items, f"{path}[{index}]", path_line, env, stack, f"{name}.{index}"))
                names.append(f"path {index}")
        return Merge(name, kind, tuple(paths), tuple(names), "identity", where, node_id, source, kind)


def check_blocks(raw, filename: str, line: int) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(f"{filename}:{line}: blocks: must be a mapping of block names to definitions, got {yaml_repr(raw)}")
    for name, definition in raw.items():
        where = f"{filename}:{line_of(raw, name, line)}: blocks.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise SpecError(f"{where}: a block name must be a word, got {yaml_repr(name)}")
        if name in KINDS or name in MERGES or name in KIND_ALIASES:
            raise SpecError(f"{where}: a block cannot take the name of a layer kind, got {name!r}")
        if not isinstance(definition, dict) or "layers" not in definition:
            raise SpecError(f"{where}: needs `layers:` (and optionally `args:`), got {yaml_repr(definition)}")
        unknown = [k for k in definition if k not in ("args", "layers", "description")]
        if unknown:
            raise SpecError(f"{where}: unknown key (known: args, layers, description), got {unknown[0]!r}")
        args = definition.get("args")
        if args is not None and (not isinstance(args, dict) or not all(isinstance(a, str) and a.isidentifier() for a in args)):
            raise SpecError(f"{where}.args: must map argument names to defaults (or `required`), got {yaml_repr(args)}")
    return raw


def check_input(value, filename: str, line: int) -> tuple[int, ...]:
    if (not isinstance(value, list) or not 2 <= len(value) <= 4
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise SpecError(f"{filename}:{line}: input: must be [C, L], [C, H, W] or [C, D, H, W] with positive integers, got {yaml_repr(value)}")
    return tuple(value)


def loads(text: str, filename: str = "<string>", input_shape: tuple[int, ...] | None = None) -> Network:
    """A network from the text of a description; `input_shape` overrides its `input:`."""
    raw = parse_yaml(text, filename)
    if not isinstance(raw, dict):
        raise SpecError(f"{filename}:1: must be a mapping with input: and layers:, got {yaml_repr(raw)}")
    unknown = [k for k in raw if k not in TOP_KEYS]
    if unknown:
        raise SpecError(f"{filename}:{line_of(raw, unknown[0], 1)}: unknown key (known: {', '.join(TOP_KEYS)}), got {unknown[0]!r}{suggest(unknown[0], TOP_KEYS)}")
    for key in ("input", "layers"):
        if key not in raw and not (key == "input" and input_shape):
            raise SpecError(f"{filename}:{raw.line}: missing `{key}:`, got keys {', '.join(map(str, raw)) or 'none'}")
    shape = input_shape or check_input(raw["input"], filename, line_of(raw, "input", 1))
    name = raw.get("name", Path(filename).stem)
    if not isinstance(name, str):
        raise SpecError(f"{filename}:{line_of(raw, 'name', 1)}: name: must be a string, got {yaml_repr(name)}")
    builder = _Builder(filename, check_blocks(raw.get("blocks"), filename, line_of(raw, "blocks", 1)))
    try:
        body = builder.sequence(raw["layers"], "layers", line_of(raw, "layers", 1), {}, (), "")
    except RecursionError:
        raise SpecError(f"{filename}: the description nests too deeply to expand") from None
    source = raw.get("source", "")
    if not isinstance(source, str):
        raise SpecError(f"{filename}:{line_of(raw, 'source', 1)}: source: must be a string, got {yaml_repr(source)}")
    return Network(name, shape, body, source)


def load(path: Path, input_shape: tuple[int, ...] | None = None) -> Network:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read the file: {error.strerror if isinstance(error, OSError) else 'not UTF-8 text'}, got {str(path)!r}") from None
    return loads(text, path.name, input_shape)
