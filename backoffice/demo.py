"""Hooks through which the domain apps add their part of the demo data.

Each app that has demo data registers a function taking the demo merchant and returning a
dict of facts to print (``seed_demo`` merges them into its output). A connector runs after every
hook, with the merchant and all the facts gathered (the sandbox uses it to point itself at the
demo merchant's inbound URL with the demo credential).
"""

from __future__ import annotations

from collections.abc import Callable

_HOOKS: list[Callable] = []
_CONNECTORS: list[Callable] = []


def register(hook: Callable) -> Callable:
    _HOOKS.append(hook)
    return hook


def register_connector(connector: Callable) -> Callable:
    _CONNECTORS.append(connector)
    return connector


def demo_extensions(merchant) -> dict:
    facts: dict = {}
    for hook in _HOOKS:
        facts.update(hook(merchant) or {})
    for connector in _CONNECTORS:
        facts.update(connector(merchant, facts) or {})
    return facts
