"""Trace-level usage and cost: which spans count, so nothing is counted twice.

The rule (one boundary for usage *and* cost, so the two never disagree):

* A span *carries* LLM accounting when it has its own token usage or its own cost.
* A carrying span **counts** unless one of its descendants carries accounting too. In other
  words the deepest carrying spans of every branch count, and the wrappers above them do not.

Why the deepest: a framework span (a LangChain chat model, an agent step, a user's
``@trace(span_type="LLM")`` wrapper) reports usage that is the sum of what the provider call
below it reports; the provider-level span is the one with the full detail (cache reads and
writes, reasoning tokens), so it is the one priced. A branch that has cost but no usage still
counts; a counting span with usage but no price leaves the trace cost partial, and the
trace cost says how many such spans there were (``cost.details["unpriced_spans"]``).

The server applies the same function to all spans of a trace whenever a batch of its spans
arrives, so spans delivered in several requests aggregate exactly as if they came together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from llmledger.usage import add_usage

S = TypeVar("S")


def counting_spans(
    spans: Sequence[S],
    carries: Callable[[S], bool],
    span_id: Callable[[S], str],
    parent_id: Callable[[S], str | None],
) -> list[S]:
    """The spans whose usage and cost count at trace level (see the module docstring)."""
    carrying = [s for s in spans if carries(s)]
    if len(carrying) <= 1:
        return carrying
    parent_of = {span_id(s): parent_id(s) for s in spans}
    covered: set[str] = set()  # spans with a carrying descendant
    for s in carrying:
        pid = parent_of.get(span_id(s))
        seen = 0
        while pid is not None and pid not in covered and seen <= len(spans):
            covered.add(pid)
            pid = parent_of.get(pid)
            seen += 1
    return [s for s in carrying if span_id(s) not in covered]


def aggregate(
    usages_and_costs: Iterable[tuple[dict[str, int] | None, Any]],
) -> tuple[dict[str, int] | None, Any]:
    """Sum the usage and cost of the counting spans; ``None`` where nothing is known."""
    pairs = list(usages_and_costs)
    usage = add_usage(u for u, _ in pairs)
    costs = [c for _, c in pairs if c is not None]
    if not costs:
        return usage, None
    from llmledger.pricing import Cost

    cost = Cost.sum(costs)
    unpriced = sum(1 for u, c in pairs if u is not None and c is None)
    if cost is not None and unpriced:
        cost.details["unpriced_spans"] = unpriced
    return usage, cost
