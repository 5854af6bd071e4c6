"""Plain-text cost reports for the terminal (``llmledger costs``), and the money format the
command line shares with the web UI."""

from __future__ import annotations

import math
import time
from decimal import Decimal
from typing import Any

from llmledger import config
from llmledger.tracing.export import exporter_for

DAY_MS = 86_400_000


def format_usd(amount: float | Decimal | None) -> str:
    """USD the way the web UI writes it (``fmtCost`` in ``server/ui/app.js``), so a small
    cost never reads as zero: from $0.001 up, 6 decimals (``$0.019842``); below, 4
    significant digits written out (``$0.0000126``); from $1,000, cents; unknown is ``-``."""
    if amount is None:
        return "-"
    if amount == 0:
        return "$0.00"
    sign = "-" if amount < 0 else ""
    a = abs(float(amount))
    if a >= 1000:
        text = f"{a:.2f}"
    elif a >= 0.001:
        text = f"{a:.6f}"
    else:
        digits = min(20, 3 - math.floor(math.log10(a)))
        text = f"{a:.{digits}f}".rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    return f"{sign}${int(whole):,}" + (f".{fraction}" if fraction else "")


def cost_report(days: int = 30, by: str = "family", experiment_id: str | None = None) -> str:
    """Tokens and cost per UTC day and model family (or model, provider, user, session, tag)
    over the last ``days`` days; by family, each family's models are listed under it when it
    has several or its one model is not named as the family. By user or session, traces
    naming none are left out (an unknown grouping is a ValueError)."""
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
    lines = [f"{'day (UTC)':10}  {by[:28]:28} {'calls':>6} {'tokens':>10} {'cost (USD)':>12}"]
    total = Decimal(0)
    for r in rows:
        day = time.strftime("%Y-%m-%d", time.gmtime(r["bucket_ms"] / 1000))
        cost = r["total_cost"]
        total += Decimal(repr(cost)) if cost is not None else 0
        lines.append(_line(day, str(r["group"]), r))
        variants = r.get("variants") or []
        if len(variants) > 1 or (variants and variants[0]["model"] != r["group"]):
            lines.extend(_line("", "  " + v["model"], v) for v in variants)
    lines.append(f"{'total':>58} {format_usd(total):>12}")
    return "\n".join(lines)


def _line(day: str, group: str, r: dict[str, Any]) -> str:
    return (
        f"{day:10}  {group[:28]:28} {r['calls']:>6} {r['total_tokens'] or 0:>10} "
        f"{format_usd(r['total_cost']):>12}"
    )
