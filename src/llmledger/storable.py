"""Text that every store and encoder takes: NUL characters and lone surrogates replaced.

PostgreSQL refuses a NUL character in text and JSON; UTF-8 has no encoding for a lone
surrogate (what ``bytes.decode(errors="surrogateescape")`` or a JSON ``"\\udc80"`` makes), so
orjson, SQLite and every HTTP body refuse it. Both are replaced by U+FFFD (the Unicode
replacement character) where data enters llmledger: the SDK before a trace is stored or sent,
the server before a request's traces are written. A surrogate *pair* written as two
characters (``"\\ud83d\\ude00"``) becomes the one character it encodes. Everything else is
kept as given.
"""

from __future__ import annotations

from typing import Any

REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """``text`` with NUL characters and lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: pairs joined, lone ones replaced
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def storable(value: Any) -> Any:
    """``value`` (a JSON-like tree) with every string, keys included, made storable.

    Returns ``value`` itself when nothing needed replacing, so clean data is not copied.
    """
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        changed = False
        clean = {}
        for key, item in value.items():
            clean_key, clean_item = storable(key), storable(item)
            changed = changed or clean_key is not key or clean_item is not item
            clean[clean_key] = clean_item
        return clean if changed else value
    if isinstance(value, list | tuple):
        items = [storable(item) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return tuple(items) if isinstance(value, tuple) else items
    return value
