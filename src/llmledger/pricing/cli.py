"""``llmledger prices ...``: inspect the catalog, price a call by hand, update the snapshot.

    llmledger prices show MODEL [--provider P] [--at DATE] [--json]
    llmledger prices search TEXT [--limit N]
    llmledger prices cost MODEL --input N --output N [--cached N] [--cache-write N]
                                [--cache-write-1h N]
                          [--reasoning N] [--audio-input N] [--audio-output N]
                          [--image-input N] [--tier batch|priority|flex] [--provider P] [--json]
    llmledger prices update [--from FILE] [--output PATH] [--date YYYY-MM-DD] [--dry-run]
    llmledger prices info

:func:`register` adds the ``prices`` command to the main CLI's argparse sub-parsers; every
sub-command sets ``args.func`` to a handler ``(args) -> exit code``. :func:`main` runs the
command on its own (``python -m llmledger.pricing.cli prices show gpt-4o``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TextIO

from llmledger import config
from llmledger.pricing.catalog import ModelPrice, catalog_info, get_price, search_models
from llmledger.pricing.cost import Cost, cost_from_price
from llmledger.pricing.money import dec_str, per_million
from llmledger.pricing.overrides import ENV_VAR, PricingConfigError, read_overrides_file

__all__ = ["main", "register"]

_SEARCH_HINT = "find the catalog name with `llmledger prices search {word}`"


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``prices`` and its sub-commands to ``subparsers`` (from ``add_subparsers()``)."""
    prices = subparsers.add_parser(
        "prices",
        help="model prices: show, search, cost, update",
        description="Inspect the bundled price catalog and your overrides, price a call "
        "by hand, or regenerate the bundled snapshot.",
    )
    prices.set_defaults(func=lambda args: _no_subcommand(prices))
    sub = prices.add_subparsers(dest="prices_command", metavar="COMMAND")

    show = sub.add_parser("show", help="the price entry a model name resolves to")
    show.add_argument("model")
    _add_lookup_options(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=cmd_show)

    search = sub.add_parser("search", help="model ids containing TEXT, with prices per 1M")
    search.add_argument("text", nargs="+", help="words that must all appear in the model id")
    search.add_argument("--limit", type=int, default=30, help="at most N results (default 30)")
    search.set_defaults(func=cmd_search)

    cost = sub.add_parser("cost", help="price one call from token counts, line by line")
    cost.add_argument("model")
    cost.add_argument(
        "--input",
        type=_count,
        default=None,
        metavar="N",
        help="all prompt tokens, cached reads and cache writes included",
    )
    cost.add_argument(
        "--output",
        type=_count,
        default=None,
        metavar="N",
        help="all generated tokens, reasoning included",
    )
    cost.add_argument(
        "--cached", type=_count, default=0, metavar="N", help="cache-read tokens (part of --input)"
    )
    cost.add_argument(
        "--cache-write",
        type=_count,
        default=0,
        metavar="N",
        help="cache-write tokens (part of --input)",
    )
    cost.add_argument(
        "--cache-write-1h",
        type=_count,
        default=0,
        metavar="N",
        help="1-hour cache-write tokens (part of --cache-write; the rest are 5-minute writes)",
    )
    cost.add_argument(
        "--reasoning",
        type=_count,
        default=0,
        metavar="N",
        help="reasoning tokens (part of --output)",
    )
    cost.add_argument("--audio-input", type=_count, default=0, metavar="N")
    cost.add_argument("--audio-output", type=_count, default=0, metavar="N")
    cost.add_argument("--image-input", type=_count, default=0, metavar="N")
    cost.add_argument("--tier", default=None, help="service tier: batch, priority, flex")
    _add_lookup_options(cost)
    cost.add_argument("--json", action="store_true", help="print the Cost as JSON")
    cost.set_defaults(func=cmd_cost)

    update = sub.add_parser("update", help="regenerate the bundled snapshot from LiteLLM")
    update.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="LiteLLM model_prices_and_context_window.json or a litellm wheel "
        "(default: the installed litellm package)",
    )
    update.add_argument(
        "--output", metavar="PATH", help="write here instead of the bundled snapshot file"
    )
    update.add_argument("--date", metavar="YYYY-MM-DD", help="snapshot date (default: today)")
    update.add_argument("--litellm-version", help="LiteLLM version to record in the snapshot")
    update.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    update.set_defaults(func=cmd_update)

    info = sub.add_parser("info", help="snapshot version, date and size; overrides in use")
    info.set_defaults(func=cmd_info)
    from llmledger.pricing.book_cli import register as register_book

    register_book(sub)
    return prices


def _add_lookup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", help="prefer this provider's entry (openai, azure, ...)")
    parser.add_argument(
        "--at",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="price in force at this ISO date/datetime (overrides)",
    )


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of tokens, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"token counts cannot be negative, got {value}")
    return value


def _date_arg(text: str) -> _dt.datetime:
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date such as 2026-01-31 or 2026-01-31T12:00:00Z, got {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=_dt.UTC)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


@contextlib.contextmanager
def _quiet_unknown_warnings() -> Iterator[None]:
    """The CLI reports unknown models itself; keep the library warning out of its output."""
    log = logging.getLogger("llmledger.pricing")
    previous = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(previous)


def _check_env_overrides() -> bool:
    path = config.prices_file()
    if not path:
        return True
    try:
        read_overrides_file(path)
    except PricingConfigError as exc:
        _err(f"{exc}\n(fix the file or unset {ENV_VAR})")
        return False
    return True


def _lookup(args: argparse.Namespace) -> ModelPrice | None:
    with _quiet_unknown_warnings():
        price = get_price(args.model, args.provider, args.at)
    if price is None:
        provider = f" for provider {args.provider!r}" if args.provider else ""
        word, suggestions = _suggest(args.model)
        _err(f"unknown model {args.model!r}{provider}; " + _SEARCH_HINT.format(word=word))
        if suggestions:
            print("similar catalog names: " + ", ".join(suggestions), file=sys.stderr)
        print(
            f"or add its price with llmledger.pricing.set_price() or the {ENV_VAR} file "
            "(see docs/pricing.md)",
            file=sys.stderr,
        )
    return price


def _suggest(model: str, limit: int = 5) -> tuple[str, list[str]]:
    """``(search word, names)`` sharing the longest '-'-separated prefix with ``model``.

    Only a hint for the person at the terminal; prices are never looked up this way.
    """
    name = model.strip().lower().split("/")[-1] or model.strip()
    stem = name
    while stem:
        found = search_models(stem, limit=limit)
        if found:
            return stem, [p.model_id for p in found]
        stem = stem.rsplit("-", 1)[0] if "-" in stem else ""
    return name.split("-")[0] or name, []


def _usd(value: Decimal) -> str:
    return "$" + dec_str(value)


def _per_token_field(name: str) -> bool:
    return "per_token" in name or name.endswith("token_cost") or "_token_cost_" in name


def cmd_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not _check_env_overrides():
        return 2
    price = _lookup(args)
    if price is None:
        return 1
    if args.json:
        print(json.dumps(price.to_dict(), indent=2), file=out)
        return 0
    lines = [
        f"{price.model_id}",
        f"  query       {price.query!r}",
        f"  matched by  {price.matched_by}",
        f"  provider    {price.provider or '-'}",
        f"  mode        {price.mode or '-'}",
        f"  source      {price.source}",
    ]
    if price.effective_from:
        lines.append(f"  effective   from {price.effective_from.isoformat()}")
    lines.append("  prices (USD; per-token fields also shown per 1M tokens):")
    width = max((len(name) for name in price.fields), default=10)
    for name in sorted(price.fields):
        value = price.fields[name]
        text = f"    {name:<{width}}  {dec_str(value):>16}"
        if _per_token_field(name):
            text += f"   ${dec_str(per_million(value))} / 1M tokens"
        lines.append(text)
    print("\n".join(lines), file=out)
    return 0


def cmd_search(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not _check_env_overrides():
        return 2
    text = " ".join(args.text)
    found = search_models(text, limit=None)
    if not found:
        _err(f"no model id contains {text!r}; try a shorter word (e.g. 'claude', 'gpt-4o')")
        return 1
    shown = found[: max(args.limit, 1)]
    width = max(len(p.model_id) for p in shown)
    print(f"{'model':<{width}}  {'provider':<26}  {'input/1M':>10}  {'output/1M':>10}", file=out)
    for p in shown:
        inp = p.per_million("input_cost_per_token")
        outp = p.per_million("output_cost_per_token")
        print(
            f"{p.model_id:<{width}}  {(p.provider or '-'):<26}  "
            f"{_usd(inp) if inp is not None else '-':>10}  "
            f"{_usd(outp) if outp is not None else '-':>10}",
            file=out,
        )
    if len(found) > len(shown):
        print(f"... {len(found) - len(shown)} more; refine the words or raise --limit", file=out)
    return 0


_COST_LINES = (
    # (detail key, label, usage key, component in fields_used)
    ("uncached_input_cost", "uncached input", "uncached", "input"),
    ("cache_read_cost", "cache reads", "cache_read_input_tokens", "cache_read"),
    ("cache_write_cost", "cache writes", "cache_creation_input_tokens", "cache_write"),
    ("audio_input_cost", "audio input", "audio_input_tokens", "audio_input"),
    ("image_input_cost", "image input", "image_input_tokens", "image_input"),
    ("request_cost", "per request", None, "request"),
    ("text_output_cost", "text output", "text_output", "output"),
    ("reasoning_cost", "reasoning", "reasoning_tokens", "reasoning"),
    ("audio_output_cost", "audio output", "audio_output_tokens", "audio_output"),
)


def cmd_cost(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.input is None and args.output is None:
        _err("give the token counts: --input N and/or --output N")
        return 2
    if not _check_env_overrides():
        return 2
    usage = {
        "input_tokens": args.input or 0,
        "output_tokens": args.output or 0,
        "cache_read_input_tokens": args.cached,
        "cache_creation_input_tokens": args.cache_write,
        "cache_creation_1h_input_tokens": args.cache_write_1h,
        "reasoning_tokens": args.reasoning,
        "audio_input_tokens": args.audio_input,
        "audio_output_tokens": args.audio_output,
        "image_input_tokens": args.image_input,
    }
    price = _lookup(args)
    if price is None:
        return 1
    try:
        cost = cost_from_price(usage, price, args.tier)
    except ValueError as exc:
        _err(
            f"{exc}\n(--cached, --cache-write, --audio-input and --image-input are parts of "
            "--input; --cache-write-1h is part of --cache-write; --reasoning and "
            "--audio-output are parts of --output)"
        )
        return 2
    if args.json:
        print(json.dumps(cost.to_json(), indent=2), file=out)
        return 0
    print(_format_cost(cost, price, usage), file=out)
    return 0


def _format_cost(cost: Cost, price: ModelPrice, usage: dict[str, int]) -> str:
    explain = cost.price or {}
    fields_used: dict[str, str] = explain.get("fields_used", {})
    counts = dict(usage)
    counts["uncached"] = usage["input_tokens"] - sum(
        usage[k]
        for k in (
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
            "audio_input_tokens",
            "image_input_tokens",
        )
    )
    separate_reasoning = "reasoning" in fields_used
    counts["text_output"] = (
        usage["output_tokens"]
        - usage["audio_output_tokens"]
        - (usage["reasoning_tokens"] if separate_reasoning else 0)
    )
    lines = [
        f"model         {price.model_id} (asked {price.query!r}, matched by {price.matched_by})",
        f"price source  {price.source}"
        + (f", effective from {price.effective_from.date()}" if price.effective_from else ""),
        f"service tier  {cost.details['service_tier']}    context tier {cost.details['tier']}",
        f"tokens        input {usage['input_tokens']}, output {usage['output_tokens']}",
    ]
    for key, label, count_key, component in _COST_LINES:
        amount: Decimal = cost.decimals[key]
        field_name = fields_used.get(component)
        if count_key is None:
            if field_name and amount:
                lines.append(f"  {label:<15} {'':>10}   {field_name} = {_usd(amount)}")
            continue
        count = counts[count_key]
        if not count:
            continue
        if field_name is None:
            continue
        hour = usage["cache_creation_1h_input_tokens"] if component == "cache_write" else 0
        if hour:  # two rates: the 5-minute writes, then the 1-hour ones
            hour_amount: Decimal = cost.decimals.get("cache_write_1h_cost", Decimal(0))
            hour_field = fields_used.get("cache_write_1h", field_name)
            if count - hour:
                lines.append(_cost_line("5-min writes", count - hour, price, field_name,
                                        amount - hour_amount))  # fmt: skip
            lines.append(_cost_line("1-hour writes", hour, price, hour_field, hour_amount))
            continue
        lines.append(_cost_line(label, count, price, field_name, amount))
    if usage["reasoning_tokens"] and not separate_reasoning:
        lines.append(
            f"  (the {usage['reasoning_tokens']} reasoning tokens are billed as output above)"
        )
    lines += [
        f"input_cost    {_usd(cost.decimal_input)}",
        f"output_cost   {_usd(cost.decimal_output)}",
        f"total_cost    {_usd(cost.decimal_total)}",
    ]
    return "\n".join(lines)


def _cost_line(label: str, count: int, price: ModelPrice, field_name: str, amount: Decimal) -> str:
    rate = price.fields[field_name]
    return (
        f"  {label:<15} {count:>10} x ${dec_str(per_million(rate))}/1M "
        f"({field_name}) = {_usd(amount)}"
    )


def cmd_update(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from llmledger.pricing.update import run_update

    out = out or sys.stdout
    try:
        run_update(
            args.source,
            output=args.output,
            snapshot_date=args.date,
            litellm_version=args.litellm_version,
            dry_run=args.dry_run,
            echo=lambda line: print(line, file=out),
        )
    except FileNotFoundError as exc:
        _err(f"{exc}\n(pass --from FILE with a LiteLLM model_prices_and_context_window.json)")
        return 1
    except (OSError, ValueError) as exc:
        _err(str(exc))
        return 1
    return 0


def cmd_info(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not _check_env_overrides():
        return 2
    info = catalog_info()
    for key in (
        "source_label",
        "litellm_version",
        "snapshot_date",
        "entry_count",
        "alias_count",
        "path",
        "load_ms",
        "overrides_file",
        "override_versions",
        "corrected_models",
        "history_models",
    ):
        print(f"{key:<18} {info.get(key)}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``llmledger prices ...`` standalone (tests, ``python -m``); returns the exit code."""
    parser = argparse.ArgumentParser(prog="llmledger")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register(sub)
    args = parser.parse_args(list(argv) if argv is not None else None)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
