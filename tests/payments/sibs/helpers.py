"""Loading the SIBS notification examples (seed 002, examples 3 to 18) kept as fixtures.

The JSON files are the manual's text with only the PDF-extraction damage repaired (curly quotes
in example 5, a page-footer block inside examples 5 and 9). Every quirk of the data itself is
intact: string vs number amounts, trailing spaces in datetimes and in one notificationID,
terminalId as string or number, inApp as a string, missing merchant.transactionId.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_NUMBERS: tuple[int, ...] = tuple(range(3, 19))


def example_path(number: int) -> Path:
    return FIXTURES / f"example_{number:02d}.json"


def example_bytes(number: int) -> bytes:
    """The exact plaintext bytes, as a decrypted webhook body would be."""
    return example_path(number).read_bytes()


def example_text(number: int) -> str:
    return example_bytes(number).decode("utf-8")


def example_dict(number: int) -> dict[str, Any]:
    """The example decoded with the standard json module (floats stay floats)."""
    return json.loads(example_text(number))
