"""The ``llmledger`` command: ``demo``, ``traces``, ``costs``, ``prices``, ``server``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tracking-uri",
        help="where traces are stored (default: $LLMLEDGER_TRACKING_URI or ./llmledger.db)",
    )


def _use_store(args: argparse.Namespace) -> None:
    import llmledger

    if getattr(args, "tracking_uri", None):
        llmledger.set_tracking_uri(args.tracking_uri)


def cmd_demo(args: argparse.Namespace) -> int:
    _use_store(args)
    import llmledger
    from llmledger.demo import run_demo

    if args.if_empty:
        eid = llmledger.set_experiment(args.experiment)
        if llmledger.search_traces([eid], max_results=1):
            print(f"experiment {args.experiment!r} already has traces; no new demo traces")
            return 0
    run_demo(traces=args.traces, experiment=args.experiment, days=args.days, live=args.live)
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    _use_store(args)
    import llmledger

    if args.trace_id:
        trace = llmledger.get_trace(args.trace_id)
        if trace is None:
            print(f"no trace {args.trace_id!r} in {llmledger.get_tracking_uri()}", file=sys.stderr)
            return 1
        _print_trace(trace)
        return 0
    exp_ids = [args.experiment_id] if args.experiment_id else None
    traces = llmledger.search_traces(exp_ids, max_results=args.limit)
    print(f"{'trace id':36}  {'name':24} {'status':6} {'tokens':>8} {'cost (USD)':>12}")
    for t in traces:
        i = t.info
        tokens = i.token_usage["total_tokens"] if i.token_usage else "-"
        cost = f"{i.cost['total_cost']:.6f}" if i.cost else "-"
        print(f"{i.trace_id:36}  {(i.name or '')[:24]:24} {i.status:6} {tokens:>8} {cost:>12}")
    return 0


def _print_trace(trace: object) -> None:
    from llmledger.tracing.trace import Trace

    assert isinstance(trace, Trace)
    i = trace.info
    print(f"trace {i.trace_id}  {i.name}  {i.status}  {i.execution_time_ms} ms")
    print(f"  usage: {i.token_usage}")
    print(f"  cost:  {dict(i.cost) if i.cost else None}")
    depth = {}
    for s in trace.data.spans:
        depth[s.span_id] = depth.get(s.parent_id, -1) + 1
        cost = s.llm_cost
        line = "  " * (depth[s.span_id] + 1) + f"- {s.name} [{s.span_type}]"
        if s.model:
            line += f" {s.model}"
        if s.token_usage:
            line += f" tokens={s.token_usage}"
        if cost:
            line += f" cost=${cost['total_cost']:.6f}"
        print(line)


def cmd_costs(args: argparse.Namespace) -> int:
    _use_store(args)
    from llmledger.reports import cost_report

    print(cost_report(days=args.days, by=args.by, experiment_id=args.experiment_id))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmledger", description="Token usage and USD cost of LLM calls, traced."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("demo", help="record demo traces (an agent calling several models)")
    _add_store_args(p)
    p.add_argument("--traces", type=int, default=40, help="history traces (default 40)")
    p.add_argument(
        "--live",
        type=int,
        default=12,
        help="traces made now through the real openai/anthropic clients against "
        "the local fake providers (default 12; 0 for none)",
    )
    p.add_argument("--days", type=int, default=7, help="spread them over this many past days")
    p.add_argument("--experiment", default="demo", help="experiment name (default 'demo')")
    p.add_argument("--if-empty", action="store_true", help="only if the experiment has none")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("traces", help="list recent traces, or show one with its spans")
    _add_store_args(p)
    p.add_argument("trace_id", nargs="?", help="show this trace")
    p.add_argument("--experiment-id", help="experiment id (default: the default experiment)")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_traces)

    p = sub.add_parser("costs", help="cost and tokens per day and model (or tag)")
    _add_store_args(p)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--by", default="model", help="'model' or 'tag:<key>'")
    p.add_argument("--experiment-id", help="only this experiment")
    p.set_defaults(func=cmd_costs)

    try:
        from llmledger.pricing.cli import register as register_prices
    except ImportError:  # pragma: no cover - the pricing CLI ships with the package
        register_prices = None
    if register_prices is not None:
        register_prices(sub)

    try:
        from llmledger.server.cli import register as register_server
    except ImportError:
        register_server = None
    if register_server is not None:
        register_server(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from llmledger import __version__

        print(f"llmledger {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"llmledger: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
