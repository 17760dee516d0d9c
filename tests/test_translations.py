"""The Portuguese catalogue is complete, and the compiled catalogue is the one the .po describes.

A string left untranslated or marked fuzzy shows in English on a Portuguese page (fuzzy entries
are not compiled); a .mo older than its .po shows the old wording. Both are read here in plain
Python, so the check needs no gettext tools.
"""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "pt" / "LC_MESSAGES"


def _entries() -> list[dict]:
    """The .po entries as dicts: flags, msgctxt, msgid, msgid_plural, msgstr (or msgstr[n])."""
    entries, current, field = [], {"flags": set()}, None
    for raw in [*(LOCALE / "django.po").read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if "msgid" in current:
                entries.append(current)
            current, field = {"flags": set()}, None
        elif line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#,"):
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += ast.literal_eval(line)
        else:
            field, _, value = line.partition(" ")
            current[field] = ast.literal_eval(value)
    return [entry for entry in entries if not entry.get("obsolete")]


def test_every_string_is_translated_and_none_is_fuzzy():
    entries = [entry for entry in _entries() if entry["msgid"]]
    assert len(entries) > 800
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    missing = [
        entry["msgid"]
        for entry in entries
        if not all(value for key, value in entry.items() if key.startswith("msgstr"))
    ]
    assert fuzzy == [], f"fuzzy entries are not compiled, so they show in English: {fuzzy[:10]}"
    assert missing == [], f"untranslated: {missing[:10]}"


def test_the_compiled_catalogue_matches_the_po():
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in _entries():
        if not entry["msgid"]:
            continue
        context = entry.get("msgctxt")
        if "msgid_plural" in entry:
            got = (
                compiled.npgettext(context, entry["msgid"], entry["msgid_plural"], 1)
                if context
                else (compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1))
            )
            expected = entry["msgstr[0]"]
        else:
            got = compiled.pgettext(context, entry["msgid"]) if context else compiled.gettext(entry["msgid"])
            expected = entry["msgstr"]
        if got != expected:
            stale.append(entry["msgid"])
    assert stale == [], f"django.mo is older than django.po (run make messages): {stale[:10]}"
