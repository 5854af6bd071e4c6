"""Offline installs for the packaging tests: a wheelhouse made from the test environment.

The packaging tests install llmledger into fresh venvs, each with one extra, and let pip
resolve the extra's dependencies, so a dependency missing from an extra makes its test fail.
They must run without the registry: ``make test`` has already installed every dependency
into the test environment, so each installed distribution is packed back into a wheel (its
files as listed in its RECORD, with its own WHEEL tags) and pip installs from that folder
with ``--no-index``. The folder is kept next to the environment (``<prefix>/wheelhouse``),
so only the first run packs (a few seconds); a wheel is named by version, so an upgraded
package is packed again.

Only what pip needs to install a distribution goes into its wheel: its importable files and
metadata. Scripts outside site-packages are left out (pip writes console scripts again from
``entry_points.txt``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = Path(sys.prefix) / "wheelhouse"
# Recreated by pip on install, or only meaningful for the environment they came from.
_SKIPPED_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def clean_pip_env() -> dict[str, str]:
    """The environment for a pip that sees only the folders it is given: no config files
    (this machine's may add indexes or constraints), no ``PIP_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return found


def requirement_closure(roots: list[tuple[str, str]]) -> list[metadata.Distribution]:
    """The installed distributions that the ``(requirement, extra)`` pairs ``roots`` need,
    transitively (a root's marker is evaluated with its extra)."""
    installed = _installed()
    seen: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(r), extra) for r, extra in roots]
    while todo:
        req, extra = todo.pop()
        env = {**default_environment(), "extra": extra}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        dist = installed.get(name)
        if dist is None:
            raise LookupError(f"{req.name} is needed but not installed in {sys.prefix}")
        for wanted in [*req.extras, ""]:
            key = f"{name}[{wanted}]"
            if key in seen:
                continue
            seen[key] = dist
            todo += [(Requirement(r), wanted) for r in dist.requires or []]
    unique = {canonicalize_name(d.metadata["Name"]): d for d in seen.values()}
    return list(unique.values())


def _wheel_tags(dist: metadata.Distribution) -> str:
    text = dist.read_text("WHEEL")
    if not text:
        raise ValueError(f"{dist.metadata['Name']} was not installed from a wheel")
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]
    parts = [sorted({t.split("-")[i] for t in tags}) for i in range(3)]
    return "-".join(".".join(p) for p in parts)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pack_installed(dist: metadata.Distribution, folder: Path) -> Path:
    """A wheel of the installed ``dist`` in ``folder`` (kept if it is already there)."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    version = dist.version
    wheel = folder / f"{name}-{version}-{_wheel_tags(dist)}.whl"
    if wheel.exists():
        return wheel
    files = dist.files
    if not files:
        raise ValueError(f"{dist.metadata['Name']} has no RECORD of its installed files")
    info_dir = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    record = []
    partial = wheel.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as zf:
        for entry in files:
            rel = entry.as_posix()
            outside = rel.startswith("..") or rel.startswith("/")
            compiled = "__pycache__" in entry.parts or rel.endswith(".pyc")
            if outside or compiled:
                continue
            if entry.parts[0] == info_dir and entry.name in _SKIPPED_METADATA:
                continue
            path = Path(dist.locate_file(entry))
            if not path.is_file():
                continue
            data = path.read_bytes()
            zf.writestr(rel, data)
            record.append(_record_line(rel, data))
        record.append(f"{info_dir}/RECORD,,")
        zf.writestr(f"{info_dir}/RECORD", "\n".join(record) + "\n")
    partial.rename(wheel)
    return wheel


def wheel_requirements(wheel: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's metadata."""
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(name).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def fill_wheelhouse(project_wheel: Path, extras: list[str], folder: Path = DEFAULT_DIR) -> Path:
    """Pack into ``folder`` every installed distribution that ``project_wheel`` with any of
    ``extras`` needs. The requirements are read from the wheel just built, not from the
    installed llmledger, whose metadata is as old as its last ``pip install -e``."""
    folder.mkdir(parents=True, exist_ok=True)
    roots = [(r, extra) for r in wheel_requirements(project_wheel) for extra in ["", *extras]]
    for dist in requirement_closure(roots):
        if canonicalize_name(dist.metadata["Name"]) != "llmledger":
            pack_installed(dist, folder)
    return folder


def build_project_wheel(folder: Path) -> Path:
    """llmledger's wheel from the working tree, built offline with the installed setuptools."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(folder),
            str(ROOT),
        ],
        check=True,
        timeout=300,
        capture_output=True,
        env=clean_pip_env(),
    )
    (wheel,) = folder.glob("llmledger-*.whl")
    return wheel
