"""Which store errors mean "these traces are invalid" and which mean "not now".

A store fails in two ways. It may refuse the traces themselves: a server answers 400, 413 or
422, a database refuses a value (a data error), or an encoder meets text it cannot write.
Sending the same traces again cannot succeed, so the exporter sets them aside
(:func:`is_rejection`). Or it may be unable to take anything right now: connection refused,
timeouts, 5xx, 429, a locked or unreachable database, a wrong token. Those are retried with
back-off.
"""

from __future__ import annotations

import sys


class RejectedError(Exception):
    """The store refused these traces as invalid: sending them again cannot succeed."""


def _data_error_types() -> tuple[type[BaseException], ...]:
    """The drivers' "this value is invalid" errors, from the drivers already imported (a
    store that raised one has imported its driver)."""
    types: list[type[BaseException]] = []
    for module, name in (
        ("sqlalchemy.exc", "DataError"),
        ("sqlite3", "DataError"),
        ("psycopg", "DataError"),
        ("orjson", "JSONEncodeError"),
    ):
        found = getattr(sys.modules.get(module), name, None)
        if isinstance(found, type):
            types.append(found)
    return tuple(types)


def is_rejection(exc: BaseException) -> bool:
    """Whether ``exc`` says the traces themselves are invalid (not a transient failure).

    Looks through the errors SQLAlchemy wraps (``orig``) and the explicit causes.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (RejectedError, UnicodeError, *_data_error_types())):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False
