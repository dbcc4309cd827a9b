"""A PyTorch model read as a convcalc network (`convcalc net my_model.py:Net`,
`convcalc net torchvision.models:resnet50`); needs PyTorch (`pip install torch`).

Building the model runs the user's code, as `python my_model.py` would. It is built on PyTorch's
meta device where it can be (no weight is allocated: a billion-parameter model costs no memory),
else on the CPU, and read by running its forward once (torchrun.py): what PyTorch dispatches is
mapped onto convcalc's layers through the graph builder every model reader feeds. A model whose
forward reads values runs on the CPU when its weights fit. What the model's code prints goes to
standard error.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path

from ..core.errors import ConvcalcError, SpecError, quote, shorten
from ..core.messages import Note
from ..core.network import Network
from .metashapes import shapes_only

INSTALL = "pip install torch"
MAX_SOURCE_BYTES = 16 << 20  # a Python file read for the models it defines


def is_model_target(text: str) -> bool:
    """`file.py:Name` or `package.module:name` (a YAML file or a bundled name never has a colon)."""
    left, colon, right = text.rpartition(":")
    return bool(colon and left and right and (left.endswith(".py") or all(part.isidentifier() for part in left.split("."))))


def models_in(path: str) -> Note:
    """What `convcalc net file.py` says without `:Name`: the classes and the functions without required arguments
    the file defines, read from its text (nothing is run, torch is not imported)."""
    import ast

    where = Path(path)
    try:
        from .files import read_text

        tree = ast.parse(read_text(where, MAX_SOURCE_BYTES))
    except SpecError as error:
        return error.note
    except (OSError, UnicodeDecodeError) as error:
        from ..core.errors import reason

        return Note("{path}: cannot read the file: {what}, got {value}", path=shorten(path), what=reason(error), value=quote(path))
    except (SyntaxError, ValueError) as error:
        return Note("{path}: not Python: {what}, got {value}", path=shorten(path), what=shorten(str(error.args[0] if error.args else error)),
                    value=quote(path))
    def takes_nothing(function) -> bool:
        arguments = function.args
        return len(arguments.posonlyargs) + len(arguments.args) == len(arguments.defaults) and not arguments.kwonlyargs

    names = [node.name for node in tree.body if (isinstance(node, ast.ClassDef) or isinstance(node, ast.FunctionDef)
                                                  and takes_nothing(node)) and not node.name.startswith("_")]
    if not names:
        return Note("{path}: name the model to read as {path}:Name; the file defines no class or function without required "
                    "arguments, got {value}", path=shorten(path), value=quote(path))
    return Note("{path}: name the model to read, such as {path}:{first}; the file defines {names}, got {value}",
                path=shorten(path), first=names[0], names=", ".join(names[:12]) + (", …" if len(names) > 12 else ""),
                value=quote(path))


def import_torch():
    try:
        import torch
    except ImportError:
        raise ConvcalcError(Note("PyTorch models: need PyTorch; install it with {command}, got no module named torch",
            command=INSTALL)) from None
    return torch


def find_object(target: str):
    """The class, function or module that `target` names; running a file or importing a module runs its code."""
    import importlib
    import importlib.util
    import sys

    where, _colon, attribute = target.rpartition(":")
    try:
        if where.endswith(".py"):
            path = Path(where)
            if not path.is_file():
                raise ConvcalcError(Note("{target}: no such file, got {value}", target=shorten(target), value=quote(where)))
            spec = importlib.util.spec_from_file_location(f"convcalc_model_{abs(hash(str(path.resolve())))}", path)
            module = importlib.util.module_from_spec(spec)
            sys.path.insert(0, str(path.resolve().parent))  # the file's own imports, as `python file.py` finds them
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.resolve().parent))
        else:
            module = importlib.import_module(where)
    except ConvcalcError:
        raise
    except Exception as error:  # the user's code: anything it raises is reported in one line (Ctrl-C still stops)
        raise ConvcalcError(Note("{target}: running {where} failed: {reason}, got {value}",
            target=shorten(target), where=shorten(where), reason=error_text(error), value=quote(target))) from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            import difflib

            close = difflib.get_close_matches(part, [n for n in dir(found) if not n.startswith("_")], n=1)
            hint = Note("; did you mean {name}?", name=quote(close[0])) if close else ""
            raise ConvcalcError(Note("{target}: {where} has no attribute {name}{hint}, got {value}",
                target=shorten(target), where=shorten(where), name=quote(part), hint=hint, value=quote(target)))
        found = getattr(found, part)
    return found


def error_text(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    return shorten(text, 200)


def build(target: str, devices=("meta", "cpu")):
    """The model, built on the meta device where its code allows (no weights allocated), else on the CPU."""
    torch = import_torch()
    found = find_object(target)
    if isinstance(found, torch.nn.Module):
        return found
    if not callable(found):
        raise ConvcalcError(Note("{target}: must name an nn.Module, a class or a function that returns one, got {value}",
            target=shorten(target), value=quote(type(found).__name__)))
    failure = None
    for device in devices:
        try:
            with torch.device(device), shapes_only(torch) if device == "meta" else nullcontext():
                model = found()
            break
        except Exception as error:
            failure = failure or error
    else:
        raise ConvcalcError(Note("{target}: building the model failed: {reason}, got {value}",
            target=shorten(target), reason=error_text(failure), value=quote(target))) from None
    if not isinstance(model, torch.nn.Module):
        raise ConvcalcError(Note("{target}: must return an nn.Module, got {value}", target=shorten(target), value=quote(type(model).__name__)))
    return model


def declared_input(model) -> tuple[int, ...] | None:
    """An input shape the model itself declares: `input_shape`, timm's `default_cfg['input_size']`, or a Hugging Face
    vision model's config (`num_channels`, `image_size`)."""
    for value in (getattr(model, "input_shape", None), (getattr(model, "default_cfg", None) or {}).get("input_size")):
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) and v > 0 for v in value):
            return tuple(value)
    config = getattr(model, "config", None)
    channels, size = getattr(config, "num_channels", None), getattr(config, "image_size", None)
    size = (size, size) if isinstance(size, int) else tuple(size) if isinstance(size, (tuple, list)) else None
    if isinstance(channels, int) and channels > 0 and size and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return (channels, *size)
    return None


@contextmanager
def to_stderr():
    """What the model's own code prints (Ultralytics its layer table, libraries their warnings) goes to standard
    error, so that convcalc's output stays its own (`--format json` parseable): Python's stream and file
    descriptor 1 alike, since a logger may hold the stream it was given at import."""
    import os
    import sys

    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved = None
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def read_model(target: str, input_shape: tuple[int, ...] | None) -> Network:
    """`target` built and mapped to a convcalc network on `input_shape` (C×H×W, no batch); what the model's code
    prints goes to standard error."""
    with to_stderr(), dynamo_left_unimported(import_torch()):
        return read_quietly(target, input_shape)


def read_module(module, input_shape: tuple[int, ...] | None) -> Network:
    """A module object (`convcalc.summary(model)`): read as `file.py:Name` is, from a copy, so the caller's
    module keeps its weights and its device."""
    import copy

    target = type(module).__name__
    with to_stderr(), dynamo_left_unimported(import_torch()):
        return read_quietly(target, input_shape, lambda devices=(): copy.deepcopy(module))


@contextmanager
def dynamo_left_unimported(torch):
    """PyTorch wraps many of its own functions (the reference decompositions a factory such as torch.arange runs
    on the meta device, among them) so that torch.compile never traces into them; the first call of each wrapper
    imports torch._dynamo, about a second. No compilation can be under way while it is not imported, so for this
    read each wrapper is told that its function needs no wrapping (found as the referrers of its code, about 20 ms);
    a process that has imported torch._dynamo keeps PyTorch's own path."""
    import gc
    import sys
    import types

    wrapper = getattr(getattr(torch, "_compile", None), "_disable_dynamo", None)
    if "torch._dynamo" in sys.modules or wrapper is None:
        yield
        return
    code = wrapper(lambda: None).__code__
    if "fn" not in code.co_freevars:
        yield
        return
    cell, marked = code.co_freevars.index("fn"), []
    for function in gc.get_referrers(code):  # the wrappers are the functions whose code is the wrapper's
        if type(function) is types.FunctionType and function.__code__ is code:
            inner = function.__closure__[cell].cell_contents  # (its __wrapped__ may be another's, copied over by a later wraps)
            if hasattr(inner, "__dict__") and "__dynamo_disable" not in vars(inner):
                setattr(inner, "__dynamo_disable", inner)  # the name the wrapper caches its undecorated function under
                marked.append(inner)
    try:
        yield
    finally:
        for inner in marked:
            if vars(inner).get("__dynamo_disable") is inner:
                delattr(inner, "__dynamo_disable")


def read_quietly(target: str, input_shape: tuple[int, ...] | None, make=None) -> Network:
    """The model built, then run once on the meta device (torchrun.py), or on the CPU with random values where its
    forward reads values and its weights fit in CPU_RUN_BYTES."""
    torch = import_torch()
    make = make or (lambda devices=("meta", "cpu"): build(target, devices))
    model = make()
    shape = input_shape or declared_input(model)
    if shape is None:
        raise ConvcalcError(Note("--input: a PyTorch model needs its input shape, such as --input 3x224x224, got none"))
    model.eval()  # dropout and stochastic depth as at inference; batchnorm uses its running statistics
    from .torchrun import RunError, read_running

    values = {}
    if any(t.device.type != "meta" for t in [*model.parameters(), *model.buffers()]):
        # no arithmetic, no memory: a model built on the CPU is run without its values, but for its small buffers
        from .torchrun import small_tensors

        values = {key: t.detach().clone() for key, t in small_tensors(torch, model).items() if t.device.type != "meta"}
        model = model.to("meta")
    try:
        try:
            network, returned = read_running(torch, model, tuple(shape), target, values)
        except RunError as failure:  # it reads values (.item(), a data-dependent shape): run it for real, if it fits
            weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
            if weights > CPU_RUN_BYTES:
                raise ConvcalcError(Note("{target}: {module}: {op} needs the values of its tensors, which the meta device does not "
                                         "have, and the weights ({size:,} bytes) are too large to run on the CPU, got {value}",
                                         target=shorten(target), module=failure.module, op=failure.op, size=weights,
                                         value=quote(failure.reason))) from None
            torch.manual_seed(0)  # the same random weights and input on every run: the same figures
            cpu_model = make(("cpu",))  # built anew with weights; a module instance named in the file stays itself
            if any(p.device.type == "meta" for p in cpu_model.parameters()):
                cpu_model = cpu_model.to_empty(device="cpu")
            torch.manual_seed(0)
            network, returned = read_running(torch, cpu_model.eval(), tuple(shape), target)
    except ConvcalcError:
        raise
    except RunError as failure:
        raise ConvcalcError(Note("{target}: the model does not run on an input of {shape}: {module}: {reason}, got {value}",
                                 target=shorten(target), shape="×".join(map(str, shape)), module=failure.module,
                                 reason=failure.reason, value=quote("x".join(map(str, shape))))) from None
    returned = tuple(tuple(s[1:]) for s in returned)  # every tensor the model returns, without the batch axis
    return network._replace(outputs=returned) if len(returned) > 1 else network


CPU_RUN_BYTES = 2 << 30  # a model whose forward needs real values is run on the CPU only if its weights fit in this


