"""JSON request bodies within sane limits: a size cap and a nesting cap, checked before parsing, so a
body nested thousands deep is a clear 400 rather than a RecursionError."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JsonRefused(ValueError):
    """The body is not acceptable JSON: too large, nested too deep, or not JSON at all."""


def nesting_depth(raw: bytes, *, stop_at: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest (strings ignored); stops counting past `stop_at`."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_at:
                return deepest
        else:
            depth -= 1
    return deepest


def check_limits(raw: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a body over the size or nesting limit (whether or not it is valid JSON)."""
    if len(raw) > max_bytes:
        raise JsonRefused(f"The body is larger than {max_bytes // 1024} KiB.")
    if nesting_depth(raw, stop_at=max_depth) > max_depth:
        raise JsonRefused(f"The body nests deeper than {max_depth} levels.")


def load_json(raw: bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    check_limits(raw, max_bytes=max_bytes, max_depth=max_depth)
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise JsonRefused("The body is not valid JSON.") from None
