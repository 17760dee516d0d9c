"""plotly.js as a static asset, from the ``plotly`` Python package's own bundle (no CDN, and the
browser always gets the plotly.js that the server-side figures were built for)."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

BUNDLE_DIR = Path(plotly.__file__).resolve().parent / "package_data"
NAME = "plotly.min.js"
PREFIX = "plotly"
STATIC_PATH = f"{PREFIX}/{NAME}"


class PlotlyFinder(BaseFinder):
    """Finds ``plotly/plotly.min.js`` and nothing else."""

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != STATIC_PATH:
            return []
        found = str(BUNDLE_DIR / NAME)
        return [found] if find_all or kwargs.get("all") else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=str(BUNDLE_DIR))
        storage.prefix = PREFIX
        yield NAME, storage
