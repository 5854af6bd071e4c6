"""``llmledger prices reprice`` and ``llmledger prices book``: re-price stored traces, and
manage the server's price book, straight on a store's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from llmledger import config


def register(sub: Any) -> None:
    """Add ``reprice`` and ``book`` to the ``prices`` sub-commands."""
    rp = sub.add_parser(
        "reprice",
        help="recompute stored spans' cost at the price in force at each span's start",
        description="Re-price the traces that started in [--since, --until): spans whose cost "
        "llmledger computed (or that had none) get the price in force at their start; trace "
        "totals and every rollup move with them. Resumable: run it again after a crash.",
    )
    _store_option(rp)
    rp.add_argument("--since", required=True, help="ISO date or datetime (UTC if naive)")
    rp.add_argument("--until", required=True, help="ISO date or datetime, exclusive")
    rp.add_argument("--model", help="only spans of this model (as stored on the span)")
    rp.add_argument("--dry-run", action="store_true", help="show the difference, write nothing")
    rp.add_argument("--batch", type=int, default=200, help="traces per transaction (200)")
    rp.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    rp.add_argument("--json", action="store_true", help="print the report as JSON")
    rp.set_defaults(func=cmd_reprice)

    bk = sub.add_parser("book", help="the server's price book: list, add, delete")
    bsub = bk.add_subparsers(dest="book_command", required=True)
    ls = bsub.add_parser("list", help="every dated price in the book")
    _store_option(ls)
    ls.set_defaults(func=cmd_book_list)
    add = bsub.add_parser("add", help="add a dated price (per 1M tokens unless --unit)")
    _store_option(add)
    add.add_argument("model", help="model name or glob pattern (ft:gpt-4o-mini:acme:*)")
    add.add_argument("prices", nargs="+", metavar="NAME=VALUE", help="input=2.5 output=10 ...")
    add.add_argument("--provider")
    add.add_argument("--tier", help="batch, priority or flex")
    add.add_argument("--effective-from", help="ISO date or datetime (default: always)")
    add.add_argument("--unit", default="per_million_tokens", help="per_million_tokens|per_token")
    add.add_argument("--note")
    add.set_defaults(func=cmd_book_add)
    rm = bsub.add_parser("delete", help="delete a price by its id")
    _store_option(rm)
    rm.add_argument("price_id", type=int)
    rm.set_defaults(func=cmd_book_delete)


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend-store-uri",
        default=None,
        help=f"the server's database (default: ${config.BACKEND_STORE_URI_ENV})",
    )


def _store(args: argparse.Namespace) -> Any:
    from llmledger.store.sql import SqlTraceStore

    uri = args.backend_store_uri or config.env_text(config.BACKEND_STORE_URI_ENV)
    if not uri:
        raise SystemExit(f"error: give --backend-store-uri or set {config.BACKEND_STORE_URI_ENV}")
    return SqlTraceStore(config.normalize_uri(uri))


def _err(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _parse_when(text: str, name: str) -> Any:
    from llmledger.pricing.overrides import PricingConfigError, parse_effective_from

    try:
        return parse_effective_from(text, name)
    except PricingConfigError as exc:
        raise ValueError(str(exc)) from None


def cmd_reprice(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from llmledger.server.pricebook import PriceBook
    from llmledger.store.reprice import reprice

    out = out or sys.stdout
    try:
        since = _parse_when(args.since, "--since")
        until = _parse_when(args.until, "--until")
    except ValueError as exc:
        return _err(str(exc))
    if until <= since:
        return _err("--until must be after --since")
    store = _store(args)
    PriceBook(store.engine).load()

    def progress(r: Any) -> None:
        if not args.json:
            print(f"  {r.traces} traces read, {r.changed_traces} changed", file=out, flush=True)

    report = reprice(
        store,
        int(since.timestamp() * 1000),
        int(until.timestamp() * 1000),
        args.model,
        dry_run=args.dry_run,
        batch=args.batch,
        pause=args.pause,
        progress=progress,
    )
    data = report.to_json()
    if args.json:
        print(json.dumps(data, indent=2), file=out)
        return 0
    head = "dry run (nothing written)" if report.dry_run else f"run {report.run_id}"
    print(
        f"{head}{' (resumed)' if report.resumed else ''}: {data['traces']} traces, "
        f"{data['changed_traces']} changed",
        file=out,
    )
    print(
        f"{'model':<40} {'spans':>7} {'old USD':>14} {'new USD':>14} {'difference':>14}", file=out
    )
    for name, m in data["models"].items():
        print(
            f"{name:<40} {m['spans']:>7} {m['old_cost']:>14} {m['new_cost']:>14} "
            f"{m['difference']:>14}",
            file=out,
        )
    print(
        f"{'total':<40} {'':>7} {data['old_total']:>14} {data['new_total']:>14} "
        f"{data['difference']:>14}",
        file=out,
    )
    return 0


def cmd_book_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from llmledger.server.pricebook import list_prices

    out = out or sys.stdout
    for p in list_prices(_store(args).engine):
        print(json.dumps(p.to_json()), file=out)
    return 0


def cmd_book_add(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from llmledger.server.pricebook import PriceBookError, add_price, same_slot, validate

    out = out or sys.stdout
    prices: dict[str, str] = {}
    for item in args.prices:
        name, sep, value = item.partition("=")
        if not sep:
            return _err(f"prices: expected NAME=VALUE such as input=2.5, got {item!r}")
        prices[name.strip()] = value.strip()
    body = {
        "model": args.model,
        "prices": prices,
        "provider": args.provider,
        "tier": args.tier,
        "effective_from": args.effective_from,
        "unit": args.unit,
        "note": args.note,
    }
    try:
        price = validate(body)
    except PriceBookError as exc:
        return _err(str(exc))
    engine = _store(args).engine
    other = same_slot(engine, price)
    if other is not None:
        return _err(
            f"effective_from: price book entry {other.price_id} already prices {price.model!r} "
            "for this provider, tier and date; delete it first or pick another date"
        )
    print(json.dumps(add_price(engine, price).to_json()), file=out)
    return 0


def cmd_book_delete(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from llmledger.server.pricebook import delete_price

    if not delete_price(_store(args).engine, args.price_id):
        print(f"error: no price book entry {args.price_id}", file=sys.stderr)
        return 1
    print(f"deleted {args.price_id}", file=out or sys.stdout)
    return 0
