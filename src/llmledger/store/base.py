"""The TraceStore interface shared by the SDK (embedded SQLite) and the tracking server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmledger.records import TraceRecord

ORDERABLE = ("timestamp_ms", "execution_time_ms", "total_cost", "total_tokens", "name")


@dataclass
class TraceFilter:
    """What ``search_traces`` selects; every field optional (``None`` means any)."""

    experiment_ids: Sequence[str] | None = None
    start_time_ms: int | None = None  # inclusive
    end_time_ms: int | None = None  # exclusive
    min_cost: float | None = None
    max_cost: float | None = None
    min_tokens: int | None = None
    max_tokens: int | None = None
    model: str | None = None  # the model, or every model of the family it names
    status: str | None = None
    name: str | None = None
    user: str | None = None  # info["user"] (mlflow.trace.user)
    session: str | None = None  # info["session"] (mlflow.trace.session)
    text: str | None = None  # substring of the id, name, previews, a tag value or a model
    tags: Mapping[str, str] = field(default_factory=dict)
    order_by: Sequence[str] = ("timestamp_ms DESC",)
    max_results: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.max_results < 0:
            raise ValueError(f"max_results must be >= 0, got {self.max_results}")
        if self.offset < 0:
            raise ValueError(f"offset must be >= 0, got {self.offset}")
        for clause in self.order_by:
            parse_order(clause)


def parse_order(clause: str) -> tuple[str, bool]:
    """``"total_cost DESC"`` -> ``("total_cost", True)``; clear error for anything else."""
    parts = clause.split()
    column = parts[0] if parts else ""
    direction = parts[1].upper() if len(parts) > 1 else "ASC"
    if column not in ORDERABLE or direction not in ("ASC", "DESC") or len(parts) > 2:
        raise ValueError(
            f"cannot order by {clause!r}: use '<column> [ASC|DESC]' with a column among "
            f"{', '.join(ORDERABLE)}"
        )
    return column, direction == "DESC"


class TraceStore(Protocol):
    def log_traces(self, records: Sequence[TraceRecord]) -> None:
        """Store finished traces atomically; a trace stored again replaces the old copy."""

    def get_trace(self, trace_id: str) -> TraceRecord | None: ...

    def search_traces(self, flt: TraceFilter) -> list[TraceRecord]: ...

    def get_or_create_experiment(self, name: str) -> str: ...

    def get_experiment(self, experiment_id: str) -> dict[str, Any] | None: ...

    def get_experiment_by_name(self, name: str) -> dict[str, Any] | None: ...

    def list_experiments(self) -> list[dict[str, Any]]: ...

    def usage_metrics(
        self,
        start_time_ms: int,
        end_time_ms: int,
        bucket_ms: int = 86_400_000,
        group_by: str = "model",
        experiment_ids: Sequence[str] | None = None,
        tz_offset_ms: int = 0,
        user: str | None = None,
        session: str | None = None,
    ) -> list[dict[str, Any]]:
        """Tokens and cost per time bucket and model / provider / user / session / tag (see
        SqlTraceStore)."""

    def top_spenders(
        self,
        start_time_ms: int,
        end_time_ms: int,
        by: str = "user",
        experiment_ids: Sequence[str] | None = None,
        limit: int = 50,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Users or sessions by cost in a time range, most first (see SqlTraceStore)."""
