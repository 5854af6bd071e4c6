"""The AWS event-stream binary framing (``application/vnd.amazon.eventstream``).

Each message: a 12-byte prelude (total length, headers length, both big-endian uint32, then
the CRC32 of those 8 bytes), the headers (name length uint8, name, value type 7 = string,
value length uint16, value), the payload, and the CRC32 of everything before it.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32
from typing import Any

_STRING = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        n, v = name.encode(), value.encode()
        out += struct.pack(">B", len(n)) + n + struct.pack(">BH", _STRING, len(v)) + v
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    header_bytes = encode_headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    message = prelude + struct.pack(">I", crc32(prelude) & 0xFFFFFFFF) + header_bytes + payload
    return message + struct.pack(">I", crc32(message) & 0xFFFFFFFF)


def event(event_type: str, payload: Any) -> bytes:
    """An ``event`` message with a JSON payload, as Bedrock streams send them."""
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload).encode(),
    )


def exception(exception_type: str, message: str) -> bytes:
    """An ``exception`` message (a modeled error in the middle of a stream)."""
    return encode_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )
