"""Tables (SQLAlchemy Core). Token and cost columns are real columns for fast filtering."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("creation_time_ms", BigInteger, nullable=False),
    # raw traces older than this many days are deleted by gc (rollups kept); NULL: forever
    Column("retention_days", Integer, nullable=True),
)

TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
)
COST_COLUMNS = ("input_cost", "output_cost", "total_cost")

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(512)),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("execution_time_ms", BigInteger),
    Column("status", String(16), nullable=False),
    *(Column(c, BigInteger) for c in TOKEN_COLUMNS),
    *(Column(c, Float) for c in COST_COLUMNS),
    Column("info", Text, nullable=False),  # the full TraceInfo as JSON (usage, cost, tags...)
    # info["user"] and info["session"] (tracing.identity), cut to 256 characters; named
    # *_id because "user" is a reserved word in PostgreSQL
    Column("user_id", String(256)),
    Column("session_id", String(256)),
    # the Traces page's default order; with the id (and, on PostgreSQL, the cost) in the
    # index, a filtered search walks it without reading each trace's row (schema 0013)
    Index(
        "ix_traces_experiment_time",
        "experiment_id",
        "timestamp_ms",
        "trace_id",
        postgresql_include=["total_cost"],
    ),
    Index("ix_traces_time", "timestamp_ms"),  # the default order, without an experiment filter
    # with the id: equal costs (tokens, durations) come out in the page's order too, instead
    # of being read whole and sorted (schema 0014)
    Index("ix_traces_experiment_cost", "experiment_id", "total_cost", "trace_id"),
    Index("ix_traces_experiment_tokens", "experiment_id", "total_tokens", "trace_id"),
    Index("ix_traces_experiment_duration", "experiment_id", "execution_time_ms", "trace_id"),
    # a user's or a session's traces in time order (few per user among millions)
    Index("ix_traces_user_time", "user_id", "experiment_id", "timestamp_ms"),
    Index("ix_traces_session_time", "session_id", "experiment_id", "timestamp_ms"),
)

# A trace's spans: a few rows ("chunks") per trace, each a JSON array of spans (see
# store.packing). A trace written at once is one chunk (seq 0); spans arriving later are
# appended as the next seq instead of rewriting what is stored. On PostgreSQL a row stays
# in its table page up to 8 kB (the default TOASTs above 2 kB); the content is compressed by
# store.chunk_codec already (schema 0011; SQLite rows written before it keep JSON text).
trace_spans = Table(
    "trace_spans",
    metadata,
    Column("trace_id", String(64), ForeignKey("traces.trace_id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("content", LargeBinary, nullable=False),  # see store.chunk_codec
    postgresql_with={"toast_tuple_target": 8160},
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", String(64), ForeignKey("traces.trace_id"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text),
    # the trace's experiment and start time, copied (rewritten with the trace): a tag's
    # traces newest first are an ordered walk of this index (schema 0014)
    Column("experiment_id", Integer),
    Column("timestamp_ms", BigInteger),
    Index("ix_trace_tags_key_value", "key", "value", "experiment_id", "timestamp_ms", "trace_id"),
)

trace_models = Table(
    "trace_models",
    metadata,
    Column("trace_id", String(64), ForeignKey("traces.trace_id"), primary_key=True),
    Column("model", String(256), primary_key=True),
    Column("experiment_id", Integer),  # as in trace_tags (schema 0014)
    Column("timestamp_ms", BigInteger),
    Index("ix_trace_models_model", "model", "experiment_id", "timestamp_ms", "trace_id"),
)

# Traces sampled out (LLMLEDGER_TRACE_SAMPLING_RATIO): no spans stored, only what their
# rollup contribution needs (the trace's info and its counted spans' usage, cost, model and
# provider, as JSON: store/sampled.py). A row, not nothing, so the same trace delivered again
# replaces its contribution instead of adding it twice, and gc can age it out.
sampled_traces = Table(
    "sampled_traces",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("experiment_id", Integer, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("content", Text, nullable=False),
    Index("ix_sampled_traces_experiment_time", "experiment_id", "timestamp_ms"),
)


# The trace that counts each provider call, by response id, per experiment: a span of
# another trace with the same response id is that call reported again, not counted.
response_ids = Table(
    "response_ids",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("response_id", String(256), primary_key=True),
    Column("trace_id", String(64), nullable=False),
)

# -- rollups: what the Overview reads, kept exact on every write -------------------------
# One row per experiment x hour (of the trace's start, UTC) x group. Writing a trace adds its
# contribution; replacing a trace (spans arriving later, the same trace sent twice) subtracts
# the old contribution first, so the rollups always equal a scan of the raw rows.
ROLLUP_SUMS = (
    "traces",
    "calls",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "reasoning_tokens",
    "unpriced_calls",
)
ROLLUP_COSTS = ("input_cost", "output_cost", "total_cost")

usage_rollup = Table(
    "usage_rollup",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    Column("model", String(256), primary_key=True),  # "" when the span names none
    Column("provider", String(64), primary_key=True),  # "" when unknown
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
)

tag_rollup = Table(
    "tag_rollup",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    Column("tag_key", String(256), primary_key=True),
    Column("tag_value", String(256), primary_key=True),
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
)

# per user and per session: the same sums as tag_rollup, for traces that name one; keyed by
# experiment, user (session) and hour, so one user's hours are one range of the key
user_rollup = Table(
    "user_rollup",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("user_id", String(256), primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
    sqlite_with_rowid=False,  # the sums sit in the key's b-tree: a range is read in order
)

session_rollup = Table(
    "session_rollup",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("session_id", String(256), primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
    sqlite_with_rowid=False,  # the sums sit in the key's b-tree: a range is read in order
)

# One row per session: its sums over every hour (the sum of its session_rollup rows) and the
# first and last hour it has traces in; kept with the session rollup by every writer
# (store/session_summary.py). The Sessions page ranks these rows by cost through the index,
# instead of summing a range's session_rollup rows per session (200,000 sessions a month).
session_summary = Table(
    "session_summary",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("session_id", String(256), primary_key=True),
    Column("first_hour_ms", BigInteger),  # None when none of its hours has a trace left
    Column("last_hour_ms", BigInteger),
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
    # the sessions that end after a time: a short or recent range's candidates
    Index("ix_session_summary_last", "experiment_id", "last_hour_ms"),
)
# the ranking's order (cost, most first; ties by session id), so a walk of the index gives
# the top sessions of a wide range without sorting its rows
Index(
    "ix_session_summary_cost",
    session_summary.c.experiment_id,
    session_summary.c.total_cost.desc(),
    session_summary.c.session_id,
)

trace_rollup = Table(
    "trace_rollup",
    metadata,
    Column("experiment_id", Integer, primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    # latency histogram bucket (see store.rollup.latency_bucket); -1 for the totals row
    Column("latency_bucket", Integer, primary_key=True),
    Column("traces", BigInteger, nullable=False, default=0),
    Column("error_traces", BigInteger, nullable=False, default=0),
    *(Column(c, BigInteger, nullable=False, default=0) for c in ROLLUP_SUMS[2:8]),
    *(Column(c, Float, nullable=False, default=0.0) for c in ROLLUP_COSTS),
)

# -- alerts (server/alerts): rules, their state, the delivery history, the evaluator lease --
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("rule_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False),
    Column("definition", Text, nullable=False),  # the rule as JSON (server.alerts.rules)
    Column("created_ms", BigInteger, nullable=False),
)

# One row per rule: whether it is firing (a breach notified, not yet resolved), and for
# digests the start of the last period sent. Changed only by conditional UPDATEs, so a
# transition is made (and notified) by one evaluator, whichever process runs it.
alert_state = Table(
    "alert_state",
    metadata,
    Column("rule_id", Integer, primary_key=True, autoincrement=False),
    Column("firing", Integer, nullable=False, default=0),
    Column("value", Float),
    Column("changed_ms", BigInteger),
    Column("period_ms", BigInteger),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("rule_id", Integer, nullable=False),
    Column("rule_name", String(256), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # fired, resolved, digest
    Column("value", Float),
    Column("message", Text, nullable=False),
    Column("channel", String(16), nullable=False),  # webhook, slack, email
    Column("target", Text, nullable=False),
    Column("status", String(16), nullable=False),  # delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Index("ix_alert_events_time", "time_ms"),
)

# The evaluator lease: whoever holds an unexpired row evaluates; taken with
# UPDATE ... WHERE expires_ms < now OR holder = me (see store.alerts_store).
alert_lease = Table(
    "alert_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)


# -- prices managed on the server, and re-pricing runs (see server/pricebook.py) ---------
# A row: one dated price of a model, a name pattern (glob: '*', '?', '[...]'), optionally
# for one provider and one service tier; ``prices`` is JSON {catalog field: decimal string}.
price_book = Table(
    "price_book",
    metadata,
    Column("price_id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(256), nullable=False),
    Column("provider", String(64)),
    Column("tier", String(32)),
    Column("effective_from_ms", BigInteger),  # None: in force at all times
    Column("prices", Text, nullable=False),
    Column("note", Text),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_price_book_model", "model"),
)

# One row per re-pricing (store/reprice.py): its range, its progress (the last trace done,
# in (timestamp_ms, trace_id) order) so a crashed run resumes, and the audit (report: JSON
# old and new totals per model).
reprice_runs = Table(
    "reprice_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger),
    Column("since_ms", BigInteger, nullable=False),
    Column("until_ms", BigInteger, nullable=False),
    Column("model", String(256)),
    Column("status", String(16), nullable=False),  # running, done
    Column("cursor_ms", BigInteger),
    Column("cursor_id", String(64)),
    Column("traces", BigInteger, nullable=False),
    Column("changed", BigInteger, nullable=False),
    Column("report", Text, nullable=False),
)
