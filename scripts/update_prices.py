#!/usr/bin/env python3
"""Regenerate llmledger's bundled price snapshot from LiteLLM's public price map.

    python scripts/update_prices.py --from path/to/model_prices_and_context_window.json
    python scripts/update_prices.py --from litellm-1.110.2-py3-none-any.whl
    python scripts/update_prices.py            # the map inside an installed litellm package

Writes src/llmledger/pricing/data/prices.json (or --output), printing progress and a diff
summary against the previous snapshot. The same code runs as ``llmledger prices update``.
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # run from a checkout without installing

from llmledger.pricing.cli import main as cli_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """``llmledger prices update`` with these arguments (same options, same exit codes)."""
    return cli_main(["prices", "update", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
