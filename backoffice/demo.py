"""Hooks through which the domain apps add their part of the demo data.

Each app that has demo data registers a function taking the demo merchant and returning a
dict of facts to print (``seed_demo`` merges them into its output).
"""

from __future__ import annotations

from collections.abc import Callable

_HOOKS: list[Callable] = []


def register(hook: Callable) -> Callable:
    _HOOKS.append(hook)
    return hook


def demo_extensions(merchant) -> dict:
    facts: dict = {}
    for hook in _HOOKS:
        facts.update(hook(merchant) or {})
    return facts
