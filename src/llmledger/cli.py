"""The ``llmledger`` command: ``demo``, ``traces``, ``costs``, ``export``, ``prices``,
``server``, ``experiments``, ``gc``.

Common mistakes (a server that is not running, a wrong token, a database that does not
exist, output piped into ``head``) end with one line on stderr and a non-zero exit, never a
traceback: see :func:`main`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmledger.pricing.cli import register as register_prices
from llmledger.retention_cli import register as register_retention
from llmledger.server.cli import register as register_server

BROKEN_PIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


class CliError(Exception):
    """A failure the user can act on: its message is the whole story (no traceback)."""


def _add_store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tracking-uri",
        help="where traces are stored (default: $LLMLEDGER_TRACKING_URI or ./llmledger.db)",
    )


def _use_store(args: argparse.Namespace) -> None:
    import llmledger

    if getattr(args, "tracking_uri", None):
        llmledger.set_tracking_uri(args.tracking_uri)


def sqlite_path(uri: str) -> Path | None:
    """The file of a ``sqlite:///`` URI (``None`` for other stores and in-memory SQLite)."""
    if not uri.startswith("sqlite:///") or uri.endswith(":memory:"):
        return None
    return Path(uri[len("sqlite:///") :])


def _read_store() -> Any:
    """The store of the tracking URI, for reading: a SQLite file that does not exist is an
    error (reading must not create an empty database where the user expected theirs)."""
    from llmledger import config
    from llmledger.tracing.export import exporter_for

    uri = config.get_tracking_uri()
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        raise CliError(
            f"no database at {path}: nothing recorded there yet (record traces with "
            "`llmledger demo`, or point --tracking-uri / LLMLEDGER_TRACKING_URI at yours)"
        )
    exporter = exporter_for(uri)
    exporter.flush()
    return exporter.store


def resolve_experiment(store: Any, wanted: str | None) -> str | None:
    """The id of the experiment given by id or by name (``None`` stays ``None``: all)."""
    if wanted is None:
        return None
    experiments = store.list_experiments()
    for key in ("experiment_id", "name"):
        for e in experiments:
            if e[key] == wanted:
                return e["experiment_id"]
    known = ", ".join(f"{e['name']!r} (id {e['experiment_id']})" for e in experiments)
    raise CliError(f"no experiment {wanted!r}; experiments: {known or 'none'}")


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
    from llmledger.reports import format_usd
    from llmledger.store.base import TraceFilter
    from llmledger.tracing.trace import TraceInfo

    store = _read_store()
    if args.trace_id:
        trace = llmledger.get_trace(args.trace_id)
        if trace is None:
            raise CliError(f"no trace {args.trace_id!r} in {llmledger.get_tracking_uri()}")
        _print_trace(trace)
        return 0
    eid = resolve_experiment(store, args.experiment_id)
    names = {e["experiment_id"]: e["name"] for e in store.list_experiments()}
    flt = TraceFilter(experiment_ids=[eid] if eid else None, max_results=args.limit)
    records = store.search_traces(flt, include_spans=False)
    if not records:
        where = f"experiment {names.get(eid, eid)!r}" if eid else "any experiment"
        print(f"no traces in {where} ({llmledger.get_tracking_uri()})", file=sys.stderr)
        return 0
    print(
        f"{'trace id':36}  {'experiment':12} {'name':24} {'status':6} {'tokens':>8} "
        f"{'cost (USD)':>12}"
    )
    for record in records:
        i = TraceInfo.from_dict(record["info"])
        tokens = i.token_usage["total_tokens"] if i.token_usage else "-"
        cost = format_usd(i.cost["total_cost"] if i.cost else None)
        experiment = names.get(i.experiment_id, i.experiment_id)[:12]
        print(
            f"{i.trace_id:36}  {experiment:12} {(i.name or '')[:24]:24} {i.status:6} "
            f"{tokens:>8} {cost:>12}"
        )
    return 0


def _print_trace(trace: Any) -> None:
    from llmledger.reports import format_usd

    i = trace.info
    print(f"trace {i.trace_id}  {i.name}  {i.status}  {i.execution_time_ms} ms")
    print(f"  usage: {i.token_usage}")
    print(f"  cost:  {dict(i.cost) if i.cost else None}")
    depth: dict[str, int] = {}
    for s in trace.data.spans:
        depth[s.span_id] = depth.get(s.parent_id or "", -1) + 1
        cost = s.llm_cost
        line = "  " * (depth[s.span_id] + 1) + f"- {s.name} [{s.span_type}]"
        if s.model:
            line += f" {s.model}"
        if s.token_usage:
            line += f" tokens={s.token_usage}"
        if cost:
            line += f" cost={format_usd(cost['total_cost'])}"
        print(line)


def cmd_costs(args: argparse.Namespace) -> int:
    _use_store(args)
    from llmledger.reports import cost_report

    store = _read_store()
    eid = resolve_experiment(store, args.experiment_id)
    print(cost_report(days=args.days, by=args.by, experiment_id=eid))
    return 0


_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_when(text: str | None, option: str, now_ms: int) -> int | None:
    """``--since`` / ``--until``: an ISO date or date-time (UTC unless it names a zone), or a
    time ago (``30m``, ``12h``, ``7d``, ``2w``), as epoch ms."""
    import datetime as dt

    if text is None:
        return None
    m = _RELATIVE.match(text.strip())
    if m:
        return now_ms - int(m[1]) * _UNIT_MS[m[2]]
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"{option} {text!r}: use a date (2026-11-01), a date-time (2026-11-01T08:00, UTC "
            "unless a zone is given) or a time ago (30m, 12h, 7d, 2w)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def cmd_export(args: argparse.Namespace) -> int:
    _use_store(args)
    import time

    from llmledger.dataout import ExportRequest, export_bytes
    from llmledger.dataout.writers import require_pyarrow

    now = int(time.time() * 1000)
    since = parse_when(args.since, "--since", now)
    until = parse_when(args.until, "--until", now)
    if since is not None and until is not None and since >= until:
        raise CliError("--since must be before --until")
    if args.format == "parquet":
        if not args.output or args.output == "-":
            raise CliError("Parquet is binary: name a file with -o/--output")
        try:
            require_pyarrow()
        except RuntimeError as exc:
            raise CliError(str(exc)) from None
    store = _read_store()
    eid = resolve_experiment(store, args.experiment)
    req = ExportRequest(args.format, args.spans, [eid] if eid else None, since, until)
    with _progress(args, remote=hasattr(store, "export")) as bar:
        chunks = export_bytes(store, req, bar.row)
        if args.output and args.output != "-":
            with open(args.output, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    bar.data(chunk)
        else:
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
                bar.data(chunk)
            out.flush()
    if args.output and args.output != "-":
        unit = "spans" if args.spans else "traces"
        print(
            f"wrote {bar.rows if not bar.remote else 'the'} {unit} to {args.output}",
            file=sys.stderr,
        )
    return 0


class _Progress:
    """A progress bar (tqdm, on stderr) only when stderr is a terminal: rows as they are
    written, or bytes when a tracking server encodes them."""

    def __init__(self, enabled: bool, remote: bool, unit: str) -> None:
        self.rows = 0
        self.remote = remote
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            try:  # a terminal that reports no size (0 x 0) would hide the bar
                size = os.get_terminal_size(sys.stderr.fileno())
            except OSError:
                size = os.terminal_size((80, 24))
            shape = {"ncols": size.columns or 80, "nrows": size.lines or 24, "file": sys.stderr}
            self._bar = (
                tqdm(unit="B", unit_scale=True, **shape)
                if remote
                else tqdm(unit=f" {unit}", **shape)
            )

    def row(self) -> None:
        self.rows += 1
        if self._bar is not None and self.rows % 100 == 0:
            self._bar.update(100)

    def data(self, chunk: bytes) -> None:
        if self._bar is not None and self.remote:
            self._bar.update(len(chunk))

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if not self.remote:
                self._bar.update(self.rows % 100)
            self._bar.close()


def _progress(args: argparse.Namespace, remote: bool) -> _Progress:
    enabled = sys.stderr.isatty() and not args.quiet
    return _Progress(enabled, remote, "spans" if args.spans else "traces")


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
    p.add_argument(
        "--experiment-id",
        "--experiment",
        help="only this experiment, by id or name (default: every experiment)",
    )
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_traces)

    p = sub.add_parser("costs", help="cost and tokens per day and model family (or user, tag...)")
    _add_store_args(p)
    p.add_argument("--days", type=int, default=30)
    p.add_argument(
        "--by",
        default="family",
        help="'family' (default: each family's models listed under it), 'model', "
        "'provider', 'user', 'session' or 'tag:<key>'",
    )
    p.add_argument("--experiment-id", "--experiment", help="only this experiment, by id or name")
    p.set_defaults(func=cmd_costs)

    p = sub.add_parser(
        "export",
        help="traces (or LLM spans) as CSV, JSON Lines or Parquet, streamed",
        description="One row per trace (or per LLM span with --spans): time, experiment, "
        "user, session, tags, model, family, provider, every usage and cost field. Oldest "
        "first; memory stays flat however many rows.",
    )
    _add_store_args(p)
    p.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")
    p.add_argument("--since", help="from this time (ISO date/date-time, UTC; or 7d, 12h ago)")
    p.add_argument("--until", help="before this time (same forms as --since)")
    p.add_argument(
        "--experiment-id",
        "--experiment",
        dest="experiment",
        help="only this experiment, by id or name",
    )
    p.add_argument("--spans", action="store_true", help="one row per LLM span")
    p.add_argument("-o", "--output", help="the file to write (default: standard output)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    register_prices(sub)
    register_server(sub)
    register_retention(sub)
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
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except BrokenPipeError:
        # `llmledger traces | head -1`: the reader has what it wanted. Point stdout at
        # /dev/null so the interpreter's own flush at exit does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_EXIT
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc), 2)
    except Exception as exc:
        message = explain(exc, _store_uri(args))
        if message is None:
            raise
        return _fail(message, 1)


def _fail(message: str, status: int) -> int:
    print(f"llmledger: error: {message}", file=sys.stderr)
    return status


def _store_uri(args: argparse.Namespace) -> str:
    if getattr(args, "backend_store_uri", None):
        return args.backend_store_uri
    from llmledger import config

    return config.get_tracking_uri()


def shown_uri(uri: str) -> str:
    """The URI without its password."""
    return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", uri)


def explain(exc: Exception, uri: str) -> str | None:
    """One line for the failures a user causes and can fix; ``None`` for the others (bugs,
    which keep their traceback)."""
    import sqlalchemy.exc

    from llmledger.store.errors import RejectedError
    from llmledger.store.http import AuthError
    from llmledger.store.migrate import SchemaError

    where = shown_uri(uri)
    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, SchemaError):
        return f"{where}: {exc}"
    if isinstance(exc, RejectedError | AuthError):
        text = str(exc)
        if re.search(r"HTTP 40[13]\b", text) and "LLMLEDGER_TRACKING_TOKEN" not in text:
            text += " (set LLMLEDGER_TRACKING_TOKEN to the server's --auth-token)"
        return f"{where} refused the request: {_first_line(text)}"
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        reason = _first_line(str(exc.orig))
        if "does not exist" in reason and uri.startswith("postgres"):
            reason += f" (create it: createdb {uri.rsplit('/', 1)[-1].split('?')[0]})"
        return f"cannot use the database {where}: {reason}"
    if isinstance(exc, sqlalchemy.exc.ArgumentError):
        return f"not a database URI: {where} ({_first_line(str(exc))})"
    if isinstance(exc, OSError) or _is_transport_error(exc):
        cause = getattr(exc, "reason", None) or exc
        is_server = uri.startswith(("http://", "https://"))
        hint = " (is `llmledger server` running there?)" if is_server else ""
        return f"cannot reach {where}: {_first_line(str(cause))}{hint}"
    return None


def _is_transport_error(exc: Exception) -> bool:
    try:
        import httpx
    except ImportError:
        return False
    return isinstance(exc, httpx.TransportError)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


if __name__ == "__main__":
    sys.exit(main())
