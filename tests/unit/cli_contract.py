"""The one-line error contract of the command line, checked the same way by every corpus."""

from __future__ import annotations

from hwsim.cli import main


def run_bad(argv, capsys) -> str:
    """Run the CLI and check the one-line error contract; return the message."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2, (rc, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("hwsim: error: ")
    assert "Traceback" not in err
    return lines[0]
