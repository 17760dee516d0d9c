"""Pages assembled from sections that several apps provide, so no app imports another's views.

A page (for example the Payment methods page, which ``payments`` owns) is registered once with its
template and the function that builds its own context. Other apps register sections into it (the
inbound notifications section comes from ``webhooks``): each section has a template and a context
function that answers ``None`` when the section does not apply to this person. Everyone renders the
page through :func:`render`, including another app's POST view that re-renders it with its form
and errors; the menu in :mod:`backoffice.navigation` works the same way.

A page may also be a set of tabs (the Payment methods page: Methods, Payment entities, Authorised
payments, Tokens, Credentials from ``payments``; Inbound notifications from ``webhooks``). Each tab
is its own view and template in the app that owns it; the app registers a :class:`PageTab` (its
label, URL name, capability, order) and every tab's template draws the same bar with
``{% page_tab_bar "<page>" "<tab>" %}`` (``backoffice/templatetags/page_tabs.py``), which shows
the tabs this person may open. No app needs another's views to link to its tab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render as render_template
from django.urls import reverse
from django.utils.functional import Promise

from backoffice.access import Access, merchant_view
from backoffice.navigation import BY_KEY
from backoffice.roles import Capability

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


@dataclass(frozen=True)
class PageTab:
    page: str
    key: str
    label: Promise | str
    url_name: str
    capability: Capability
    order: int = 100
    # Tabs about the whole merchant (inbound secrets, the refund threshold) are not shown to
    # people limited to some stores.
    merchant_wide: bool = False


_PAGES: dict[str, Page] = {}
_SECTIONS: dict[str, dict[str, PageSection]] = {}
_TABS: dict[str, dict[str, PageTab]] = {}


def register_page(page: Page) -> Page:
    _PAGES[page.key] = page
    return page


def register_section(section: PageSection) -> PageSection:
    """Register (or replace, by key) a section of a page; registering twice is harmless."""
    _SECTIONS.setdefault(section.page, {})[section.key] = section
    return section


def register_tab(tab: PageTab) -> PageTab:
    """Register (or replace, by key) a tab of a page; registering twice is harmless."""
    _TABS.setdefault(tab.page, {})[tab.key] = tab
    return tab


def tabs_of(page_key: str, access: Access | None) -> list[PageTab]:
    """The tabs of a page this access may open, in order."""
    if access is None:
        return []
    tabs = sorted(_TABS.get(page_key, {}).values(), key=lambda t: (t.order, t.key))
    return [t for t in tabs if access.can(t.capability) and not (t.merchant_wide and access.is_store_limited)]


def tab_links(page_key: str, access: Access | None, active: str) -> list[dict]:
    """The tab bar: label, address and whether it is the one shown."""
    if access is None:
        return []
    return [
        {
            "key": tab.key,
            "label": tab.label,
            "url": reverse(tab.url_name, kwargs={"merchant": access.merchant.slug}),
            "active": tab.key == active,
        }
        for tab in tabs_of(page_key, access)
    ]


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
