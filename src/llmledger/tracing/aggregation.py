"""Trace-level usage and cost: which spans count, so nothing is counted twice.

The rule (one boundary for usage *and* cost, so the two never disagree):

* A span *carries* LLM accounting when it has its own token usage or its own cost.
* A carrying span **counts** unless one of its descendants carries accounting too. In other
  words the deepest carrying spans of every branch count, and the wrappers above them do not.
* Except when the wrapper and the span below it describe **the same provider call** (two
  instrumentations of one call, say OpenInference around the ``anthropic`` SDK's own span):
  then the one with the richer usage (more detail: cache reads and writes, the 1-hour
  writes, reasoning) counts, the deeper one on a tie. Two spans describe the same call when
  the parent's only nearest carrying descendant is the child (nothing else carries between
  or beside), both carry usage, and either both have a response id (``gen_ai.response.id``)
  and it is the same, or (one has none) both name the same model and the child's time lies
  within the parent's.
* Counted spans with the same response id (one call reported twice, as siblings or anywhere
  in the trace) count once: the richest, the first on a tie. Across traces of one experiment
  the server's store decides (:mod:`llmledger.store.response_ids`): a span marked
  ``llmledger.llm.duplicateOf`` does not count (``aggregate_spans``).

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

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from llmledger import dialects
from llmledger.attributes import SpanAttributeKey as K
from llmledger.usage import DETAIL_KEYS, add_usage

S = TypeVar("S")


class Call(NamedTuple):
    """What a carrying span says about the provider call it describes."""

    response_id: str | None
    model: str | None
    start_ns: int
    end_ns: int | None
    detail: int  # how many usage details it reports; -1: no usage (a cost only)


def counting_spans(
    spans: Sequence[S],
    carries: Callable[[S], bool],
    span_id: Callable[[S], str],
    parent_id: Callable[[S], str | None],
    call: Callable[[S], Call] | None = None,
    response_id: Callable[[S], str | None] | None = None,
) -> list[S]:
    """The spans whose usage and cost count at trace level (see the module docstring).
    ``call``: what each carrying span says about its call (without it, no two spans are
    taken for the same call). ``response_id``: each span's response id, when the caller can
    give it alone more cheaply than ``call`` (it must be ``call``'s ``response_id``)."""
    carrying = [s for s in spans if carries(s)]
    if len(carrying) <= 1:
        return carrying
    parent_of = {span_id(s): parent_id(s) for s in spans}
    by_id = {span_id(s): s for s in carrying}
    below: dict[str, list[str]] = {}  # carrying span -> its nearest carrying descendants
    depth: dict[str, int] = {}
    for sid in by_id:
        pid, steps, up = parent_of.get(sid), 0, None
        while pid is not None and steps <= len(spans):
            steps += 1
            if up is None and pid in by_id:
                up = pid
            pid = parent_of.get(pid)
        depth[sid] = steps
        if up is not None:
            below.setdefault(up, []).append(sid)
    if call is None:
        return [s for s in carrying if span_id(s) not in below]
    if not below and response_id is not None and _distinct(map(response_id, by_id.values())):
        # No carrying span is above another (most traces) and no two share a response id:
        # every one is a call of its own and counts, as the general path below would find.
        return list(by_id.values())
    facts = {sid: call(s) for sid, s in by_id.items()}
    # bottom-up: a wrapper whose only carrying child is the same call joins the child's group
    group: dict[str, str] = {}  # top span of a group of one call -> the span that counts
    for sid in sorted(by_id, key=depth.__getitem__, reverse=True):
        kids = below.get(sid)
        if not kids:
            group[sid] = sid
        elif len(kids) == 1 and kids[0] in group and _same_call(facts[sid], facts[kids[0]]):
            kept = group.pop(kids[0])
            group[sid] = sid if facts[sid].detail > facts[kept].detail else kept
    kept_ids = set(group.values())
    counted = [sid for sid in by_id if sid in kept_ids]
    return [by_id[sid] for sid in _one_per_response_id(counted, facts)]


def _distinct(response_ids: Iterable[str | None]) -> bool:
    """Whether no response id appears twice (spans without one aside)."""
    seen: set[str] = set()
    for rid in response_ids:
        if rid:
            if rid in seen:
                return False
            seen.add(rid)
    return True


def _same_call(parent: Call, child: Call) -> bool:
    if parent.detail < 0 or child.detail < 0:
        return False  # a cost alone (set by hand) is never merged
    if parent.response_id and child.response_id:
        return parent.response_id == child.response_id
    if not parent.model or not child.model or parent.model.lower() != child.model.lower():
        return False
    if child.start_ns < parent.start_ns:
        return False
    return parent.end_ns is None or (child.end_ns is not None and child.end_ns <= parent.end_ns)


def _one_per_response_id(ids: list[str], facts: Mapping[str, Call]) -> list[str]:
    """``ids`` with one span per response id: the richest, the first on a tie."""
    best: dict[str, str] = {}
    for sid in ids:
        rid = facts[sid].response_id
        if rid and (rid not in best or facts[sid].detail > facts[best[rid]].detail):
            best[rid] = sid
    return [sid for sid in ids if not (rid := facts[sid].response_id) or best.get(rid) == sid]


def span_dict_call(d: Mapping[str, Any]) -> Call:
    """:class:`Call` of a prepared span dict (its usage settled under the own key)."""
    attrs = d["attributes"]
    return Call(
        dialects.response_id(attrs),
        dialects.model(attrs),
        d["start_time_ns"],
        d.get("end_time_ns"),
        usage_detail(attrs.get(K.TOKEN_USAGE)),
    )


def usage_detail(usage: Mapping[str, Any] | None) -> int:
    """How much a canonical usage dict tells beyond input and output: its detail counts
    (cache reads, writes, 1-hour writes, reasoning...). -1 without usage."""
    if not usage:
        return -1
    return sum(1 for key in DETAIL_KEYS if usage.get(key))


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
        cost = cost.with_details(unpriced_spans=unpriced)
    return usage, cost
