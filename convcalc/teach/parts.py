"""What a worked solution can show, in the order `--explain` takes them (a module of its own: the
command line reads it before it loads any arithmetic). The course's default leaves memory, the
backward pass and time to those who ask, or to `net`'s totals."""

PARTS = ("shape", "params", "macs", "im2col", "connections", "flops", "rf", "memory", "backward", "time")
DEFAULT_PARTS = ("shape", "params", "macs", "flops", "rf")
