"""An input shape given on the command line against the one a model declares: the same number of
axes, never reinterpreted (224x224 is not a 1-D input of 224 channels), and a leading batch axis
recognised and sent to --batch."""

from __future__ import annotations

from ..core.errors import SpecError, quote
from ..core.messages import Note

AXES = {1: "F (features)", 2: "C×L", 3: "C×H×W", 4: "C×D×H×W"}


def check_override(given: tuple[int, ...], own: tuple[int, ...] | int, what: str) -> None:
    """`given` (from --input) must have the axes of `own` (the model's input, or its number of
    axes); `what` names the model in the message."""
    rank = own if isinstance(own, int) else len(own)
    if len(given) == rank:
        return
    value = quote("x".join(map(str, given)))
    example = "x".join(map(str, own)) if not isinstance(own, int) else ""
    if len(given) == rank + 1:
        raise SpecError(Note("--input: the batch is not part of the input; {what} takes {axes}: write --input {rest} "
                             "--batch {batch}, got {value}", what=what, axes=AXES.get(rank, rank), rest="x".join(map(str, given[1:])),
                             batch=given[0], value=value))
    raise SpecError(Note("--input: {what} takes {axes} ({count} values{example}), got {value}", what=what, axes=AXES.get(rank, rank),
                         count=rank, example=Note(", such as {shape}", shape=example) if example else "", value=value))
