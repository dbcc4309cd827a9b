"""The one exception family: every message names the place and the offending value."""


class ConvcalcError(ValueError):
    """A configuration that cannot be computed; the message says where, what, and the value."""


class SpecError(ConvcalcError):
    """A mistake in a network description; `where` is `file:line: path` when it is known."""
