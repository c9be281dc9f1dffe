"""One exception type for bad user input.

Anything a user can get wrong (a config file, a cost table, a trace, a CLI flag) raises
:class:`InputError` with a message that names the field and says how to fix it. The CLI
turns it into one line on stderr and exit code 2 -- never a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the offending field and the fix."""


def pydantic_message(source: str, err) -> str:
    """Condense a pydantic ``ValidationError`` into one readable message."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e.get("loc", ())) or "(root)"
        parts.append(f"{loc}: {e.get('msg', 'invalid')}")
    return f"{source}: " + "; ".join(parts)
