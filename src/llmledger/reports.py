"""Plain-text cost reports for the terminal (``llmledger costs``)."""

from __future__ import annotations

import time
from decimal import Decimal

from llmledger import config
from llmledger.tracing.export import exporter_for

DAY_MS = 86_400_000


def cost_report(days: int = 30, by: str = "model", experiment_id: str | None = None) -> str:
    """Tokens and cost per UTC day and model (or tag) over the last ``days`` days."""
    if days <= 0:
        raise ValueError("--days must be a positive number of days")
    exporter = exporter_for(config.get_tracking_uri())
    exporter.flush()
    end = (int(time.time() * 1000) // DAY_MS + 1) * DAY_MS
    rows = exporter.store.usage_metrics(
        end - days * DAY_MS, end, DAY_MS, by, [experiment_id] if experiment_id else None
    )
    if not rows:
        return (
            f"no LLM calls with usage or cost in the last {days} days ({config.get_tracking_uri()})"
        )
    label = by if by != "model" else "model"
    lines = [f"{'day (UTC)':10}  {label[:28]:28} {'calls':>6} {'tokens':>10} {'cost (USD)':>12}"]
    total = Decimal(0)
    for r in rows:
        day = time.strftime("%Y-%m-%d", time.gmtime(r["bucket_ms"] / 1000))
        cost = r["total_cost"]
        total += Decimal(repr(cost)) if cost is not None else 0
        cost_s = f"{cost:.6f}" if cost is not None else "-"
        lines.append(
            f"{day:10}  {str(r['group'])[:28]:28} {r['calls']:>6} {r['total_tokens'] or 0:>10} "
            f"{cost_s:>12}"
        )
    lines.append(f"{'total':>58} {float(total):>12.6f}")
    return "\n".join(lines)
