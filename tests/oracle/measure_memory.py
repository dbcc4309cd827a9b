"""Measure, with PyTorch itself, the memory convcalc's model of memory must reproduce.

Writes tests/golden/memory_reference.json, which tests/test_memory.py compares convcalc against
(the test suite needs no torchvision). Regenerate with torch and torchvision installed:

    pip install torch==2.14.1 torchvision==0.29.1
    python tests/oracle/measure_memory.py

For every zoo network that torchvision defines, at batch 1 and 2 on its default input (3×224×224,
FCN's 3×520×520), float32:

- saved_bytes: what autograd keeps for the backward pass in train mode — every tensor packed by
  `torch.autograd.graph.saved_tensors_hooks` during the forward pass, counted once per storage
  (`untyped_storage().nbytes()`), the model's parameters and buffers excluded (they exist
  whether or not a forward pass ran). Dropout draws its mask from a fixed seed.
- inference_peak_bytes: in eval mode under `torch.no_grad()`, the largest total of live tensor
  storages during the forward pass, the input included and parameters and buffers excluded. Every
  tensor an ATen operation returns is seen by a TorchDispatchMode; a storage is live from the
  operation that creates it until the last tensor object using it is freed (weak references).
"""

from __future__ import annotations

import json
import sys
import weakref
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "memory_reference.json"
BATCHES = (1, 2)


def model_storages(model: torch.nn.Module) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}


def saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    model.train()
    excluded = model_storages(model)
    seen: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in excluded:
            seen.setdefault(storage.data_ptr(), storage.nbytes())  # saved tensors stay alive: no address reuse
        return tensor

    torch.manual_seed(0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x)
    return sum(seen.values())


class LiveStorages(TorchDispatchMode):
    """The bytes of tensor storages alive at each moment of a forward pass, and their peak."""

    def __init__(self, excluded: set[int]):
        super().__init__()
        self.excluded = excluded
        self.refs: dict[int, list[int]] = {}  # storage address → [bytes, tensor objects using it]
        self.tracked: set[int] = set()
        self.live = self.peak = 0

    def track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        address, size = storage.data_ptr(), storage.nbytes()
        if address in self.excluded or size == 0 or id(tensor) in self.tracked:
            return
        entry = self.refs.get(address)
        if entry is None:
            entry = self.refs[address] = [size, 0]
            self.live += size
            self.peak = max(self.peak, self.live)
        entry[1] += 1
        self.tracked.add(id(tensor))
        weakref.finalize(tensor, self.release, address, id(tensor))

    def release(self, address: int, key: int) -> None:
        self.tracked.discard(key)
        entry = self.refs[address]
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self.refs[address]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                self.track(leaf)
        return out


def inference_peak_bytes(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    model.eval()
    mode = LiveStorages(model_storages(model))
    with torch.no_grad(), mode:
        x = torch.zeros(shape)
        model(x)
        del x
    return mode.peak


def main() -> None:
    import torchvision

    sys.path.insert(0, str(Path(__file__).parent))
    from make_zoo_reference import DEFAULT_INPUT, build, sources  # the same models the zoo is checked against

    networks = {}
    for stem, (library, name) in sources().items():
        if library != "torchvision":
            continue
        model = build(library, name)
        default = DEFAULT_INPUT.get(stem, (3, 224, 224))
        if name.startswith(("vit_", "swin_")):  # attention's own tensors are not modelled: printed for the README, not kept
            print(stem, "saved", saved_bytes(model, torch.zeros(1, *default)), "peak", inference_peak_bytes(model, (1, *default)))
            continue
        entry = {"model": f"torchvision.models.{name}", "input_shape": list(default)}
        for batch in BATCHES:
            shape = (batch, *default)
            try:
                entry[f"saved_bytes_batch{batch}"] = saved_bytes(model, torch.zeros(shape))
            except ValueError:  # batchnorm on a 1×1 map cannot train on one sample (DeepLabV3's pooled branch)
                entry[f"saved_bytes_batch{batch}"] = None
            entry[f"inference_peak_bytes_batch{batch}"] = inference_peak_bytes(model, shape)
        networks[stem] = entry
        print(stem, entry, flush=True)
    OUT.write_text(json.dumps({"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
                               "networks": networks}, indent=1) + "\n")


if __name__ == "__main__":
    main()
