"""The modules of a PyTorch model read whole, each as convcalc's formula: attention (torch.nn's, timm's,
torchvision's Swin and MaxViT), torchvision's Swin patch merging, and the layers `convcalc export --to torch`
writes that torch.nn lacks (LeNet's subsampling and partial connection table, LRN, space-to-depth, a class
token, a position embedding). A module is recognised by its class (or the torch.nn class it derives from
without a forward of its own) and its attributes; the run (torchrun.py) keeps the formula's row only where its
parameters, buffers, MACs and output shape are the module's own.
"""

from __future__ import annotations

from math import prod

from ..core.layers import LRN, Attention, ClassToken, Conv, Elementwise, Linear, Norm, PositionEmbedding, SpaceToDepth, Subsample

# torch.nn's classes read whole, by family
TORCH_NN = {"MultiheadAttention": "attention", "LocalResponseNorm": "lrn", "PixelUnshuffle": "unshuffle"}
# classes outside torch.nn, recognised by name and attributes: convcalc's own export helpers, torchvision's and
# timm's attention, torchvision's Swin patch merging and MaxViT's partition-attention layer
FAMILIES = {"Subsample": "subsample", "PartialConv": "table", "ShiftedWindowAttention": "swin", "ShiftedWindowAttentionV2": "swin",
            "SelfAttention": "written_attention", "TimmAttention": "timm_attention",
            "SpaceToDepth": "unshuffle", "ClassToken": "class_token", "PositionEmbedding": "position_embedding",
            "PatchMerging": "patch_merging", "PatchMergingV2": "patch_merging", "PartitionAttentionLayer": "maxvit_layer"}


def module_family(module) -> str | None:
    """The family of a module convcalc reads whole (TORCH_NN, FAMILIES), or None."""
    name = module_layer_name(module)
    return TORCH_NN.get(name) or FAMILIES.get(name) if name is not None else None


def module_layer_name(module) -> str | None:
    """The mapping for a module class, by the torch.nn class it is or derives from — unless the
    subclass computes something else (its own forward: torchvision's LayerNorm2d permutes first)."""
    name = type(module).__name__
    if name == "Attention" and type(module).__module__.startswith("timm."):
        return "TimmAttention" if all(hasattr(module, a) for a in KNOWN["TimmAttention"]) else None
    if name in KNOWN and all(hasattr(module, a) for a in KNOWN[name]):
        return name  # a layer torch.nn lacks: as `convcalc export --to torch` writes it, or as torchvision does
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ in TORCH_NN:
            return cls.__name__ if type(module).forward is cls.forward else None
    return None


# each class's attributes, checked before its formula reads them
KNOWN = {"Subsample": ("kernel", "stride", "weight", "bias"), "PartialConv": ("table", "maps"),
         "ShiftedWindowAttention": ("window_size", "shift_size", "num_heads", "qkv", "proj", "relative_position_bias_table"),
         "ShiftedWindowAttentionV2": ("window_size", "shift_size", "num_heads", "qkv", "proj", "cpb_mlp", "logit_scale"),
         "RelativePositionalMultiHeadAttention": ("to_qkv", "merge", "n_heads", "head_dim", "max_seq_len",
                                                  "relative_position_bias_table"),
         "SelfAttention": ("heads", "window", "shift", "grid", "position_bias", "cosine", "qkv", "proj"),
         "SpaceToDepth": ("factor", "pad"), "ClassToken": ("token",), "PositionEmbedding": ("embedding",),
         "TimmAttention": ("num_heads", "head_dim", "qkv", "proj", "q_norm", "k_norm", "norm"),
         "PatchMerging": ("dim", "reduction", "norm"), "PatchMergingV2": ("dim", "reduction", "norm"),
         "PartitionAttentionLayer": ("p", "partition_type", "attn_layer", "mlp_layer")}
# the activations a module sequence may hold, as convcalc's
ACTIVATIONS = {"GELU": "gelu", "ReLU": "relu", "SiLU": "silu", "Tanh": "tanh", "Sigmoid": "sigmoid"}


def module_formula(module, cf: tuple, layout: str, self_attention: bool = True):
    """convcalc's layer for one call of `module` on a value of convcalc shape `cf` in `layout` ("cf" or "cl"),
    or None. A module that is several layers gives them as ((name, layer), …), where an item
    ("+", name, items) is a residual branch added to its input (torchvision's MaxViT)."""
    name = module_layer_name(module)
    family = module_family(module)
    if family == "attention" and self_attention and layout == "cl" and module.batch_first and module._qkv_same_embed_dim:
        return Attention(module.num_heads, module.in_proj_bias is not None)
    if family == "swin" and layout == "cl" and len(cf) == 3:
        return swin_attention(module, cf)
    if family == "maxvit_layer" and layout == "cf" and len(cf) == 3:
        return maxvit_layer(module, cf)
    if family == "written_attention" and layout == "cf":
        return Attention(module.heads, module.qkv.bias is not None, module.window, module.shift if module.window else 0, module.grid,
                         module.position_bias, module.cosine)
    if family == "timm_attention" and layout == "cl" and len(cf) == 2:
        return timm_attention(module, cf)
    if family == "class_token" and layout == "cf":
        return ClassToken()
    if family == "position_embedding" and layout == "cf":
        return PositionEmbedding()
    if family == "subsample" and layout == "cf":
        return Subsample(tuple(module.kernel), tuple(module.stride))
    if family == "table" and layout == "cf":
        first = module.maps[0]
        return Conv(len(module.table), tuple(first.kernel_size), tuple(first.stride), bias=first.bias is not None,
                    table=tuple(tuple(row) for row in module.table))
    if family == "lrn" and layout == "cf":
        return LRN(module.size)
    if family == "unshuffle":
        return SpaceToDepth(module.factor, module.pad) if name == "SpaceToDepth" else SpaceToDepth(module.downscale_factor)
    if family == "patch_merging" and layout == "cl" and len(cf) == 3:
        norm = layer_norm(tuple(getattr(module.norm, "normalized_shape", ())), getattr(module.norm, "weight", None) is not None,
                          (4 * cf[0], *cf[1:]) if name == "PatchMerging" else (2 * cf[0], *cf[1:]), layout)
        reduction = Linear(module.reduction.out_features, module.reduction.bias is not None)
        merged = ("_patch_merging_pad", SpaceToDepth(2, pad=True))  # pad to even, four strided views concatenated
        if norm is None:
            return None
        return (merged, ("norm", norm), ("reduction", reduction)) if name == "PatchMerging" else \
            (merged, ("reduction", reduction), ("norm", norm))
    return None


def layer_norm(normalized: tuple, affine: bool, cf, layout):
    if layout == "cl" and normalized == (cf[0],) or len(cf) == 1 and normalized == cf:
        return Norm(affine, kind="layernorm")  # over the channels at each position
    if layout == "cf" and normalized == tuple(cf[len(cf) - len(normalized):]):
        return Norm(affine, kind="layernorm", shape=normalized)
    return None


def swin_attention(m, cf):
    """torchvision's ShiftedWindowAttention (V2: cosine attention, bias from a 2→512→heads MLP)."""
    v2 = hasattr(m, "cpb_mlp")
    if (m.qkv.bias is None) != (m.proj.bias is None) or m.qkv.in_features != cf[0] or len(m.window_size) != len(cf) - 1:
        return None
    if v2 and [type(x).__name__ for x in m.cpb_mlp] != ["Linear", "ReLU", "Linear"] or v2 and m.cpb_mlp[0].out_features != 512:
        return None
    return Attention(m.num_heads, m.qkv.bias is not None, tuple(m.window_size), tuple(m.shift_size), False,
                     "mlp" if v2 else "table", v2)


def timm_attention(m, cf):
    """timm's Attention (ViT, DeiT): plain multi-head self-attention over a sequence, unless it normalises
    queries and keys, gates, or biases only some projections — no convcalc formula for those."""
    plain = all(type(x).__name__ == "Identity" for x in (m.q_norm, m.k_norm, m.norm)) and getattr(m, "gate", None) is None
    if not plain or m.num_heads * m.head_dim != cf[0] or m.proj.out_features != cf[0] or (m.qkv.bias is None) != (m.proj.bias is None):
        return None
    return Attention(m.num_heads, m.qkv.bias is not None)


def maxvit_layer(m, cf):
    """torchvision's MaxViT PartitionAttentionLayer, in convcalc's terms on the image: x + attention(norm(x)) on
    windows of p×p positions (or, partitioned as a grid, windows spaced p apart), then x + MLP(norm(x))."""
    attention = [x for x in m.attn_layer if type(x).__name__ != "Dropout"]
    mlp = [x for x in m.mlp_layer if type(x).__name__ != "Dropout"]
    if [module_layer_name(x) for x in attention[1:]] != ["RelativePositionalMultiHeadAttention"] or len(mlp) != 4:
        return None  # (its attention is recognised with its attributes, KNOWN's)
    if not all(type(x).__name__ == "LayerNorm" for x in (attention[0], mlp[0])) or type(mlp[2]).__name__ not in ACTIVATIONS:
        return None
    attend = maxvit_attention(attention[1], cf, (m.p, m.partition_type == "grid"))
    norms = [layer_norm(tuple(x.normalized_shape), x.weight is not None, cf, "cl") for x in (attention[0], mlp[0])]
    if attend is None or None in norms or any(type(x).__name__ != "Linear" for x in (mlp[1], mlp[3])):
        return None
    return (("+", "attn_layer", (("0", norms[0]), ("1", attend))),
            ("+", "mlp_layer", (("0", norms[1]), ("1", Linear(mlp[1].out_features, mlp[1].bias is not None)),
                                ("2", Elementwise(ACTIVATIONS[type(mlp[2]).__name__])),
                                ("3", Linear(mlp[3].out_features, mlp[3].bias is not None)))))


def maxvit_attention(m, cf, windows):
    """torchvision's MaxViT attention on windows of p×p positions, or (swapped) on a grid of windows spaced p apart."""
    p, grid = windows
    window = tuple(size // p for size in cf[1:]) if grid else (p, p)
    if m.n_heads * m.head_dim != cf[0] or prod(window) != m.max_seq_len or window[0] != m.size or len(set(window)) != 1:
        return None
    if (m.to_qkv.bias is None) != (m.merge.bias is None):
        return None
    return Attention(m.n_heads, m.to_qkv.bias is not None, window, grid=grid, position_bias="table")


def torch_pad(pad, n: int) -> tuple:
    """F.pad's (last axis before, after, the one before it, …) as convcalc's per-axis pairs."""
    pad = tuple(pad) if isinstance(pad, (tuple, list)) else (pad,) * (2 * n)
    pairs_ = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    return tuple([(0, 0)] * (n - len(pairs_)) + pairs_)
