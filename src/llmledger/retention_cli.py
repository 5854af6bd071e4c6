"""``llmledger experiments ...`` (list, set-retention) and ``llmledger gc``."""

from __future__ import annotations

import argparse
import datetime as _dt
from typing import Any


def _store(args: argparse.Namespace) -> Any:
    from llmledger.cli import _read_store, _use_store

    _use_store(args)
    return _read_store()


def _experiment(store: Any, wanted: str) -> dict[str, Any]:
    from llmledger.cli import resolve_experiment

    eid = resolve_experiment(store, wanted)
    exp = store.get_experiment(eid)
    assert exp is not None  # resolved just now
    return exp  # type: ignore[no-any-return]


def _retention(exp: dict[str, Any]) -> str:
    days = exp.get("retention_days")
    return f"{days} days" if days else "forever"


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    print(f"{'id':>6}  {'name':<32} retention")
    for exp in store.list_experiments():
        print(f"{exp['experiment_id']:>6}  {exp['name']:<32} {_retention(exp)}")
    return 0


def cmd_set_retention(args: argparse.Namespace) -> int:
    from llmledger.store.retention import check_days

    if (args.days is None) == (not args.forever):
        raise ValueError("give --days N (at least 1) or --forever")
    days = check_days(args.days)  # 0 or negative: a clear error before anything is read
    store = _store(args)
    exp = store.set_retention(_experiment(store, args.experiment)["experiment_id"], days)
    print(
        f"experiment {exp['name']!r} (id {exp['experiment_id']}): keeps raw traces "
        f"{_retention(exp)}; gc keeps its hourly totals"
    )
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    report = _store(args).gc(dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"gc {verb} {report['traces']} traces and {report['sampled_traces']} sampled-out "
        "traces (hourly rollups kept)"
    )
    for eid, cutoff in sorted(report["cutoffs_ms"].items()):
        when = _dt.datetime.fromtimestamp(cutoff / 1000, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"  experiment {eid}: before {when}: {report['by_experiment'].get(eid, 0)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from llmledger.cli import _add_store_args

    p = sub.add_parser("experiments", help="list experiments, set their retention")
    esub = p.add_subparsers(dest="experiments_command", required=True)
    q = esub.add_parser("list", help="experiments and their retention")
    _add_store_args(q)
    q.set_defaults(func=cmd_list)
    q = esub.add_parser(
        "set-retention",
        help="delete an experiment's raw traces older than N days at each gc (totals kept)",
    )
    _add_store_args(q)
    q.add_argument("experiment", help="the experiment, by name or id")
    q.add_argument("--days", type=int, help="keep raw traces this many days (at least 1)")
    q.add_argument("--forever", action="store_true", help="keep raw traces forever (default)")
    q.set_defaults(func=cmd_set_retention)

    p = sub.add_parser(
        "gc", help="delete raw traces older than their experiment's retention (totals kept)"
    )
    _add_store_args(p)
    p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    p.set_defaults(func=cmd_gc)
