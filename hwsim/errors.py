"""The one exception type for user mistakes.

Anything a user can get wrong (a format name, a YAML field, a shape) raises `HwsimError`
with a one-line message naming the file, field and what was expected. The CLI prints the
message alone, never a traceback. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

import difflib


class HwsimError(ValueError):
    """A user error whose message is one line and says what was expected."""


def closest(name: str, choices, n: int = 3) -> str:
    """', '.join of the registered names closest to `name` (for 'did you mean' hints)."""
    matches = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.4)
    return ", ".join(matches) if matches else ", ".join(sorted(choices)[:n])


def shown(name) -> str:
    """A file name as error messages show it: quoted, with newlines and other control
    characters escaped, so the message stays one line whatever the name holds."""
    return repr(str(name))


def one_line(message: str) -> str:
    """`message` with every control character escaped (the CLI prints errors this way)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


def read_text(path, what: str) -> str:
    """The text of a user's file; a file that is not UTF-8 is an HwsimError naming it.

    OSError (missing file, a folder) is left to the caller, whose message names the role.
    """
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise HwsimError(
            f"{path}: {what}: expected UTF-8 text, got byte 0x{e.object[e.start]:02x} "
            f"at offset {e.start}"
        ) from None
