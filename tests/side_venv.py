"""Venvs of their own for heavy third-party programs the tests drive (Arize Phoenix, MLflow),
never installed into the test environment: ``~/.cache/llmledger/test-venvs/<name>`` (under
``$XDG_CACHE_HOME`` when set), made from the package index on first use (minutes), reused
afterwards, by later runs and by fresh clones on the same machine (a ``.installed`` file holds
the time the install took)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import venv
from concurrent.futures import Future
from pathlib import Path

VENVS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmledger" / "test-venvs"
)


_building: dict[str, Future[Path]] = {}
_lock = threading.Lock()


def prebuild(name: str, requirements: list[str]) -> None:
    """Start installing the venv ``name`` in a background thread when it is missing, so the
    install overlaps the tests that run before the one needing it (conftest calls this for
    the selected tests' ``SIDE_VENV``)."""
    with _lock:
        if name in _building or (VENVS / name / ".installed").exists():
            return
        future: Future[Path] = Future()
        _building[name] = future

    def build() -> None:
        try:
            future.set_result(_install(name, requirements))
        except BaseException as exc:  # reported to the test that needs the venv
            future.set_exception(exc)

    threading.Thread(target=build, name=f"side-venv-{name}", daemon=True).start()


def side_venv_python(name: str, requirements: list[str], timeout: float = 1500) -> Path:
    """The Python of the venv ``name`` with ``requirements``, installed when missing (or
    waited for, when :func:`prebuild` started it)."""
    with _lock:
        future = _building.get(name)
    if future is not None:
        return future.result(timeout=timeout)
    return _install(name, requirements, timeout)


def _install(name: str, requirements: list[str], timeout: float = 1500) -> Path:
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
