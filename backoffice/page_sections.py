"""Pages assembled from sections that several apps provide, so no app imports another's views.

A page (for example the Payment methods page, which ``payments`` owns) is registered once with its
template and the function that builds its own context. Other apps register sections into it (the
inbound notifications section comes from ``webhooks``): each section has a template and a context
function that answers ``None`` when the section does not apply to this person. Everyone renders the
page through :func:`render`, including another app's POST view that re-renders it with its form
and errors; the menu in :mod:`backoffice.navigation` works the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as render_template

from backoffice.access import merchant_view
from backoffice.navigation import BY_KEY

ContextBuilder = Callable[[HttpRequest, dict], dict | None]


@dataclass(frozen=True)
class Page:
    key: str
    template: str
    context: ContextBuilder
    # Pages that may show a secret once must never be kept in a cache.
    no_store: bool = False


@dataclass(frozen=True)
class PageSection:
    page: str
    key: str
    template: str
    context: ContextBuilder
    order: int = 100


_PAGES: dict[str, Page] = {}
_SECTIONS: dict[str, dict[str, PageSection]] = {}


def register_page(page: Page) -> Page:
    _PAGES[page.key] = page
    return page


def register_section(section: PageSection) -> PageSection:
    """Register (or replace, by key) a section of a page; registering twice is harmless."""
    _SECTIONS.setdefault(section.page, {})[section.key] = section
    return section


def sections_of(page_key: str) -> list[PageSection]:
    return sorted(_SECTIONS.get(page_key, {}).values(), key=lambda s: (s.order, s.key))


def render(request: HttpRequest, page_key: str, *, status: int = 200, **overrides) -> HttpResponse:
    """The page with its own context, every section that applies, and ``overrides`` (a form with
    its errors, a secret to show once) on top."""
    page = _PAGES[page_key]
    context = dict(overrides)
    context.update(page.context(request, overrides) or {})
    shown = []
    for section in sections_of(page_key):
        extra = section.context(request, overrides)
        if extra is None:
            continue
        context.update(extra)
        shown.append(section.template)
    context.update(overrides)
    context["page_sections"] = shown
    response = render_template(request, page.template, context, status=status)
    if page.no_store:
        response["Cache-Control"] = "no-store"
    return response


def section_placeholder(key: str):
    """A section that has nothing yet says what it will hold: no dead links."""
    section = BY_KEY[key]

    @merchant_view(section.capability)
    def view(request: HttpRequest) -> HttpResponse:
        return render_template(request, "backoffice/section_empty.html", {"section": section, "active": key})

    view.__name__ = f"{key}_placeholder"
    return view
