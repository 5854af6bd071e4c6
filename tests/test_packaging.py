"""The built wheel works on its own: price catalog, migrations and UI files are inside it."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_prices_offline(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = wheels.glob("llmledger-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    code = (
        "import llmledger, importlib.resources as r\n"
        "from llmledger.pricing import compute_cost\n"
        "print(compute_cost('gpt-4o-mini', {'input_tokens': 84, 'output_tokens': 22}))\n"
        "ui = r.files('llmledger.server') / 'ui'\n"
        "print((ui / 'index.html').is_file(), (ui / 'vendor' / 'chart.umd.js').is_file())\n"
        "from llmledger.store.sql import SqlTraceStore\n"
        f"s = SqlTraceStore('sqlite:///{tmp_path / 'w.db'}')\n"
        "print(s.get_experiment('0')['name'])\n"
    )
    out = subprocess.run(
        [str(py), "-c", code], check=True, timeout=120, capture_output=True, text=True, cwd=tmp_path
    ).stdout.splitlines()
    assert out == [
        "{'input_cost': 1.26e-05, 'output_cost': 1.32e-05, 'total_cost': 2.58e-05}",
        "True True",
        "Default",
    ]
