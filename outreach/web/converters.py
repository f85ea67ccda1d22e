"""What a request may carry before any page reads it: ids that fit a database integer, and
no NUL byte.

- ``<int:...>`` in a URL is capped at 2**31 - 1, PostgreSQL's ``integer``: a larger id
  cannot name a row, and passed on to the database it fails the query ("integer out of
  range") instead of finding nothing. The route then simply does not match: a 404, like any
  id that names nothing.
- A NUL byte (``%00``) in the path, the query string or a form field is refused with a 400
  before the login check, so the login form is covered too: PostgreSQL refuses NUL in text
  and the query would fail with a 500; no person ever types one.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

# The largest value of PostgreSQL's ``integer`` (and of the ids it generates).
MAX_ID = 2**31 - 1


def _at_most(limit: int) -> str:
    """A regex of the decimal numbers from 0 to ``limit``, leading zeros allowed."""
    digits = str(limit)
    parts = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        if digit != "0":
            rest = len(digits) - i - 1
            parts.append(rf"{digits[:i]}[0-{int(digit) - 1}]\d{{{rest}}}")
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, with ``max`` defaulting to PostgreSQL's integer.

    The limit is in the regex too: a number over it must match no rule at all. Checked in
    ``to_python`` only, a POST to ``/file/appel/<too big>`` would match the GET rule of the
    same path first and answer 405 instead of 404."""

    regex = _at_most(MAX_ID)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_or_none(value: str | None) -> int | None:
    """An id read from a query string or a form (a filter), or None when it cannot be one:
    a hand-edited ``?campagne=99999999999`` then filters nothing instead of failing."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or not 0 < int(value) <= MAX_ID:
        return None
    return int(value)


class NulByte(BadRequest):
    """A NUL byte in the request: the error page says what is wrong (errors.py)."""


def _has_nul(pairs: Any) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def refuse_nul_bytes() -> None:
    """Abort with a 400 when the path, the query string or a form field holds a NUL byte."""
    if "\x00" in request.path:
        raise NulByte()
    if _has_nul(request.args.items(multi=True)):
        raise NulByte()
    if request.method in ("POST", "PUT", "PATCH") and (
        _has_nul(request.form.items(multi=True))
        or any("\x00" in (f.filename or "") for f in request.files.values())
    ):
        raise NulByte()


def register(app: Flask) -> None:
    """Install the converter and the NUL check; call before any blueprint is registered
    (rules are compiled with the converters known when they are added) and before the
    login check (an anonymous request is checked too)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul_bytes)
