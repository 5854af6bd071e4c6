"""Server ingestion (spans/s over HTTP into SQLite and PostgreSQL, vs ``mlflow server``) and
the metrics query latency at 1M traces: ``benchmarks/run.py --only P4,P5,UI``.

    .venv/bin/python benchmarks/ingest.py [--quick] [other run.py options]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import main

if __name__ == "__main__":
    sys.exit(main(["--only", "P4,P5,UI", *sys.argv[1:]]))
