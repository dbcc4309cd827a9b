"""What a pass through the network keeps in memory, modelled on PyTorch.

Two figures come from the walk over the network (network.py), storage by storage:

- **Saved for backward**: the tensors autograd keeps from a training forward pass until the
  backward pass — what each kind of layer saves (its `saves` in formulas.KINDS, as PyTorch's kernels save it), each
  storage counted once (an in-place ReLU's output is its input's storage; a flatten is a view).
  Parameters and buffers are not counted: they exist with or without a forward pass.
- **Inference peak**: the largest total of live tensors during a forward pass without gradients —
  the input held throughout, each output freed after its last use (a merge's inputs live until the
  merge; an id's output until its last reference), in-place activations and views allocating
  nothing, an add written into its first path's result (PyTorch's `out += identity`).

The rest is arithmetic on the totals: training memory (weights, gradients, optimizer state, saved
activations), the backward pass's multiply-adds, and time bounds from a device's peak figures.
"""

from __future__ import annotations

from typing import NamedTuple


class Saves(NamedTuple):
    """What one kind of layer keeps for its backward pass, and how it runs without gradients."""

    input: bool = False  # its input tensor
    output: bool = False  # its result tensor
    # int64 argmax indices, one per output element (max pooling, which on the CPU computes them even
    # without gradients and drops them after)
    indices: bool = False
    # a mask the size of its input at the activation dtype (dropout on the CPU: input × noise); without
    # gradients such a layer returns its input, allocating nothing
    mask: bool = False
    copy: bool = False  # an in-place op whose backward needs its input keeps a copy of it (hardtanh_, ReLU6)
    stats: str = ""  # per-channel 'batch' statistics (mean, inverse std), or per-position 'row' statistics
    in_place: bool = False  # writes its output into its input's storage (allocates nothing)
    view: bool = False  # its output is its input seen differently (allocates nothing, saves nothing)


INDEX_BYTES = 8  # int64
STAT_BYTES = 4  # float32 statistics, whatever the activation dtype


class Storage:
    """One tensor storage: its size, how many users still hold it, whether autograd keeps it."""

    __slots__ = ("bytes", "holders", "saved", "grad")

    def __init__(self, size: int, holders: int = 1, grad: bool = False):
        self.bytes = size
        self.holders = holders
        self.saved = False
        self.grad = grad  # the tensor requires grad (something before it has parameters)


class Memory:
    """The running figures of one walk: live bytes and their peak, saved bytes, backward MACs."""

    def __init__(self, input_bytes: int):
        self.live = self.peak = input_bytes
        self.saved = 0
        self.backward_macs = 0
        self.outputs = input_bytes  # the course's count: the input and every output that allocates

    def allocate(self, size: int, grad: bool, transient: int = 0) -> Storage:
        """A new output; `transient` bytes live only while the operation runs."""
        self.live += size
        self.peak = max(self.peak, self.live + transient)
        self.outputs += size
        return Storage(size, 1, grad)

    def release(self, storage: Storage, count: int = 1) -> None:
        storage.holders -= count
        if storage.holders == 0:
            self.live -= storage.bytes

    def keep(self, storage: Storage) -> int:
        """Autograd keeps `storage` (once)."""
        if storage.saved:
            return 0
        storage.saved = True
        self.saved += storage.bytes
        return storage.bytes

    def run(self, taken: Storage, plan: "StoragePlan", out_bytes: int, learns: bool) -> tuple[Storage, int]:
        """One layer run on the storage `taken`: its output allocated (or written into `taken`), `taken` released, and
        what autograd keeps. Returns the output's storage and the bytes this layer saves for backward."""
        input_grad = taken.grad
        grad = input_grad or learns
        if plan.allocates:  # allocate and release, written out: this runs for every layer of a million
            self.live += out_bytes
            if self.live + plan.transient > self.peak:
                self.peak = self.live + plan.transient
            self.outputs += out_bytes
            after = Storage(out_bytes, 1, grad)
            taken.holders -= 1
            if not taken.holders:
                self.live -= taken.bytes
        else:
            after = taken
            if grad and not input_grad:
                after.grad = True
        saved = 0
        if grad:
            if plan.keeps_input and not taken.saved:
                saved += self.keep(taken)
            if plan.keeps_output and not after.saved:
                saved += self.keep(after)
            if plan.extra:
                self.saved += plan.extra
                saved += plan.extra
                if plan.mask:  # in training, dropout's output is a new tensor, which the next layer may keep anew
                    after.saved = False
        return after, saved


class StoragePlan(NamedTuple):
    """What running one layer does to storages, worked out once per layer and shape."""

    allocates: bool  # its output is a new storage (not a view, not in place, not dropout's input returned)
    keeps_input: bool
    keeps_output: bool
    extra: int  # bytes it saves beyond its input and output (indices, a copy, a mask, statistics)
    mask: bool
    transient: int  # bytes that live only while it runs (max pooling's indices without gradients)
    moved: int  # inputs, weights and output read or written once (for the time bounds)


def storage_plan(rule: Saves, layer, shape: tuple, out: tuple, out_bytes: int, params: int, batch: int, element_bytes: int,
                 param_element: int) -> StoragePlan:
    """The StoragePlan of a layer by its kind's rule (`saves`), on `shape` giving `out`."""
    from math import prod

    indices = prod(out) * batch * INDEX_BYTES if rule.indices else 0
    extra = indices + (out_bytes if rule.copy else 0) + (out_bytes if rule.mask else 0)
    if rule.stats:
        extra += stat_count(layer.kind, rule.stats, shape, batch, layer) * STAT_BYTES
    moved = prod(shape) * element_bytes + out_bytes + params * param_element
    return StoragePlan(not (rule.view or rule.in_place or rule.mask), rule.input, rule.output, extra, rule.mask, indices, moved)


def stat_count(kind: str, stats: str, shape: tuple[int, ...], batch: int, layer) -> int:
    """How many float32 statistics a normalisation keeps (mean and inverse std: two each)."""
    channels = shape[0]
    if stats == "batch":
        return 2 * channels
    if stats == "instance":
        return 2 * channels * batch
    if stats == "group":
        return 2 * getattr(layer, "groups", 1) * batch
    normalized = getattr(layer, "shape", None)
    from math import prod

    if normalized:  # nn.LayerNorm(shape): one mean per remaining leading element
        return 2 * batch * prod(shape) // prod(normalized)
    return 2 * batch * prod(shape[1:])  # over the channels at each position (ConvNeXt's LayerNorm2d)


# --- training memory ------------------------------------------------------------------------

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}  # tensors of parameter size per parameter


class Training(NamedTuple):
    """Memory for one training step, a lower bound: the allocator's overhead, workspaces and the
    framework's own buffers are not counted."""

    weights: int
    gradients: int
    optimizer_state: int
    saved_activations: int
    weight_copies: int  # mixed precision: the half-precision copy of the weights the forward pass uses

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.saved_activations + self.weight_copies


def training(params: int, trainable: int, saved_activations: int, param_bytes: int, optimizer: str, amp: str | None) -> Training:
    """Weights at the parameters' dtype (float32 master copies under mixed precision); gradients
    and the optimizer's state tensors for the trainable ones only; the saved activations."""
    element = 4 if amp else param_bytes
    return Training(params * element, trainable * element, OPTIMIZER_STATES[optimizer] * trainable * element,
                    saved_activations, params * 2 if amp else 0)


# --- time bounds ----------------------------------------------------------------------------

class Device(NamedTuple):
    name: str
    peak_flops: float  # FLOP/s at the dtype used, a multiply and an add counted apart
    bandwidth: float  # bytes/s of main memory
    source: str = ""


# figures from the makers' data sheets (dense, no sparsity): fp32 / fp16-bf16 tensor peak, memory bandwidth
DEVICES = {
    "a100": (19.5e12, 312e12, 1.555e12, "NVIDIA A100 40GB data sheet: FP32 19.5 TFLOPS, FP16/BF16 tensor 312 TFLOPS, 1,555 GB/s"),
    "h100": (67e12, 989e12, 3.35e12, "NVIDIA H100 SXM data sheet: FP32 67 TFLOPS, FP16/BF16 tensor 989 TFLOPS, 3.35 TB/s"),
    "v100": (15.7e12, 125e12, 0.9e12, "NVIDIA V100 SXM2 data sheet: FP32 15.7 TFLOPS, tensor 125 TFLOPS, 900 GB/s"),
    "t4": (8.1e12, 65e12, 0.32e12, "NVIDIA T4 data sheet: FP32 8.1 TFLOPS, FP16 tensor 65 TFLOPS, 320 GB/s"),
    "rtx4090": (82.6e12, 165.2e12, 1.008e12, "NVIDIA RTX 4090 specifications: FP32 82.6 TFLOPS, FP16 tensor 165.2 TFLOPS, 1,008 GB/s"),
}


def device(text: str, dtype: str) -> Device | None:
    """A named preset, or `PEAK,BANDWIDTH` in FLOP/s and bytes/s (1e13,9e11); None if neither."""
    name = text.strip().lower()
    if name in DEVICES:
        fp32, half, bandwidth, source = DEVICES[name]
        return Device(name, half if dtype in ("fp16", "bf16") else fp32, bandwidth, source)
    parts = name.split(",")
    if len(parts) == 2:
        try:
            peak, bandwidth = float(parts[0]), float(parts[1])
        except ValueError:
            return None
        if 1 <= peak <= 1e30 and 1 <= bandwidth <= 1e30:  # every time then stays a finite number
            return Device(text.strip(), peak, bandwidth)
    return None


class Timing(NamedTuple):
    bytes_moved: int
    intensity: float  # FLOPs per byte
    seconds: float
    bound: str  # 'compute' or 'memory'
    compute_s: float  # FLOPs / peak
    memory_s: float  # bytes / bandwidth


def roofline(macs: int, bytes_moved: int, machine: Device) -> Timing:
    """max(FLOPs / peak, bytes / bandwidth), a multiply-add being two floating-point operations."""
    flops = 2 * macs
    compute, memory = flops / machine.peak_flops, bytes_moved / machine.bandwidth
    return Timing(bytes_moved, flops / bytes_moved if bytes_moved else 0.0, max(compute, memory),
                  "compute" if compute >= memory else "memory", compute, memory)
