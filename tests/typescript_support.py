"""Helpers for the tests that drive the TypeScript SDK (typescript/) with Node."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TS = ROOT / "typescript"


def build_sdk() -> Path:
    """Install the SDK's npm dependencies (once, from the lock file) and build dist/."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("Node >= 18 and npm are needed for the TypeScript SDK tests")
    if not (TS / "node_modules" / "typescript").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TS, check=True, timeout=600)
    if not _dist_is_fresh():
        subprocess.run(["node", "scripts/build.mjs"], cwd=TS, check=True, timeout=300)
    return TS


def _dist_is_fresh() -> bool:
    """dist/ built after every input of the build (`npm test` just built it, in `make test`)."""
    built = TS / "dist" / "index.mjs"
    if not built.exists():
        return False
    inputs = [*(TS / "src").rglob("*.ts"), TS / "scripts" / "build.mjs", TS / "package.json"]
    data = ROOT / "src" / "llmledger" / "pricing" / "data"
    inputs += [
        data / name for name in ("prices.json", "retired.json", "corrections.json", "history.json")
    ]
    return built.stat().st_mtime >= max(p.stat().st_mtime for p in inputs)


def node_project(where: Path) -> Path:
    """A Node project as `npm install <repo>/typescript openai @anthropic-ai/sdk` makes it:
    node_modules/llmledger links to the SDK folder (what npm does for a local folder), the
    client libraries come from the SDK's own (dev) dependencies."""
    modules = where / "node_modules"
    (modules / "@anthropic-ai").mkdir(parents=True, exist_ok=True)
    for name in ("llmledger", "openai", "@anthropic-ai/sdk", "@opentelemetry"):
        link = modules / name
        target = TS if name == "llmledger" else TS / "node_modules" / name
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    (where / "package.json").write_text('{"type": "module"}\n')
    return where


def run_node(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    """Run node; on failure the assertion shows its output."""
    proc = subprocess.run(
        ["node", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"node {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
