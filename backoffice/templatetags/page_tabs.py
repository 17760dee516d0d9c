"""``{% page_tab_bar "payment_methods" "entities" %}``: the tab bar of a page made of tabs."""

from __future__ import annotations

from django import template

from backoffice import page_sections

register = template.Library()


@register.inclusion_tag("backoffice/_page_tabs.html", takes_context=True)
def page_tab_bar(context, page_key: str, active: str) -> dict:
    request = context.get("request")
    access = getattr(request, "access", None)
    return {"tabs": page_sections.tab_links(page_key, access, active), "page_key": page_key}
