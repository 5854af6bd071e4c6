"""Venvs of their own for heavy third-party programs the tests drive (Arize Phoenix, MLflow),
never installed into the test environment: ``~/.cache/llmledger/test-venvs/<name>`` (under
``$XDG_CACHE_HOME`` when set), made from the package index on first use (minutes), reused
afterwards, by later runs and by fresh clones on the same machine (a ``.installed`` file holds
the time the install took)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

VENVS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmledger" / "test-venvs"
)


def side_venv_python(name: str, requirements: list[str], timeout: float = 1500) -> Path:
    """The Python of the venv ``name`` with ``requirements``, installed when missing."""
    root = VENVS / name
    python = root / "bin" / "python"
    done = root / ".installed"
    if not done.exists():
        started = time.monotonic()
        venv.create(root, with_pip=True, clear=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *requirements],
            check=True,
            timeout=timeout,
        )
        took = time.monotonic() - started
        done.write_text(f"{took:.0f} s: {' '.join(requirements)}\n")
        print(f"venv {name} installed in {took:.0f} s", file=sys.stderr)
    return python
