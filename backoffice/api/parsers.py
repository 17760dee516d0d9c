"""The API's JSON parser: DRF's, plus the project's rule on unstorable characters."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from backoffice.untrusted import MESSAGE, find_unsafe


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = find_unsafe(data)
        if where is not None:
            raise ParseError(f"{where}: {MESSAGE}", code="unsafe_characters")
        return data
