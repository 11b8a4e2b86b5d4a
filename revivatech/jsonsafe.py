"""JSON from strangers: one decoder for every body and socket frame the site accepts.

Python's decoder recurses once per nesting level, so about 4 KB of ``[[[[…]]]]`` raised
``RecursionError`` (a 500, or a socket dropped without a close frame). :func:`loads` refuses a
document nested deeper than :data:`MAX_DEPTH` before decoding it, with :class:`TooDeep`, a
``ValueError`` like every other malformed-JSON error, so callers' ``except ValueError`` answers 400.
:class:`JSONBodyParser` is the DRF parser built on it (the API's only JSON parser).
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

#: WebSocket close code for a frame refused as hostile JSON ("invalid frame payload data").
INVALID_FRAME = 1007
#: Deeper than any body or frame the site sends itself (the deepest is about 5 levels).
MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"it is nested more than {MAX_DEPTH} levels deep")


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # cannot be too deep (the common case: no scan at all)
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise TooDeep()
        else:
            depth -= 1


def loads(data: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads`` that refuses documents nested deeper than :data:`MAX_DEPTH` (``TooDeep``)."""
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
    _check_depth(data)
    try:
        return json.loads(data, **kwargs)
    except RecursionError:  # a deep stack already: the pre-check's limit is not reached
        raise TooDeep() from None


class JSONBodyParser(JSONParser):
    """DRF's JSON parser on :func:`loads`, with an error that says what is wrong with the body."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read() if stream is not None else b""
            constants = {"parse_constant": strict_constant} if api_settings.STRICT_JSON else {}
            return loads(codecs.decode(raw, encoding), **constants)
        except ValueError as exc:  # includes UnicodeDecodeError and TooDeep
            raise ParseError(f"The request body is not valid JSON: {exc}.") from exc
