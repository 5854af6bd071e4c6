#!/usr/bin/env python3
"""Regenerate llmledger's bundled price snapshot from LiteLLM's public price map.

    python scripts/update_prices.py --from path/to/model_prices_and_context_window.json
    python scripts/update_prices.py --from litellm-1.110.2-py3-none-any.whl
    python scripts/update_prices.py            # the map inside an installed litellm package

Writes src/llmledger/pricing/data/prices.json (or --output), printing progress and a diff
summary against the previous snapshot. The same code runs as ``llmledger prices update``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))  # run from a checkout without installing

from llmledger.pricing.update import SNAPSHOT_PATH, run_update  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="LiteLLM price map JSON or litellm wheel (default: the installed litellm package)",
    )
    parser.add_argument("--output", metavar="PATH", help=f"default: {SNAPSHOT_PATH}")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="snapshot date (default: today)")
    parser.add_argument("--litellm-version", help="record this LiteLLM version in _meta")
    parser.add_argument("--dry-run", action="store_true", help="show the diff, write nothing")
    args = parser.parse_args(argv)
    try:
        run_update(
            args.source,
            output=args.output,
            snapshot_date=args.date,
            litellm_version=args.litellm_version,
            dry_run=args.dry_run,
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
