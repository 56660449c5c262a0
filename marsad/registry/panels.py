"""Panels: what apps above the registry add to its project and organisation pages (DESIGN §4).

The registry's pages cannot import the apps above it (the indicator engine, the exchange), yet they
show those apps' figures. Like the after-commit hooks (``hooks.py``), the inversion is explicit: an
app registers a *panel provider* for a page in its ``AppConfig.ready()``, and the registry's views
render every registered panel on the server, in registration order (no JavaScript is needed to read
them).

A provider is called with the request and the page's object (a ``Project`` for ``PROJECT``, an
``Organisation`` for ``ORGANISATION``) and returns ``(template name, context)``, or ``None`` when it
has nothing to show for that object. A context may name static files the panel's charts need under
``"scripts"`` (paths for ``{% static %}``, such as ``"vendor/plotly.min.js"``): the page loads each
once, after its content, whatever the number of panels asking for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

PROJECT = "project"
ORGANISATION = "organisation"
PAGES = (PROJECT, ORGANISATION)
SCRIPTS = "scripts"

PanelProvider = Callable[[HttpRequest, Any], "tuple[str, dict] | None"]
_providers: dict[str, list[PanelProvider]] = {page: [] for page in PAGES}


def _page(page: str) -> list[PanelProvider]:
    if page not in _providers:
        raise ValueError(f"unknown page for panels: {page!r} (one of {', '.join(PAGES)})")
    return _providers[page]


def register(page: str, provider: PanelProvider) -> PanelProvider:
    """Add a provider to a page (once: registering it again changes nothing)."""
    providers = _page(page)
    if provider not in providers:
        providers.append(provider)
    return provider


def unregister(page: str, provider: PanelProvider) -> None:
    providers = _page(page)
    if provider in providers:
        providers.remove(provider)


def registered(page: str) -> tuple[PanelProvider, ...]:
    return tuple(_page(page))


@dataclass(frozen=True)
class Panels:
    """The rendered panels of a page, and the static scripts they need (each once, in order)."""

    html: tuple[SafeString, ...]
    scripts: tuple[str, ...]


def render(page: str, request: HttpRequest, obj: Any) -> Panels:
    """Call every provider of ``page`` for ``obj`` and render the panels they return."""
    html: list[SafeString] = []
    scripts: list[str] = []
    for provider in registered(page):
        found = provider(request, obj)
        if found is None:
            continue
        template, context = found
        html.append(SafeString(render_to_string(template, context, request=request)))
        scripts.extend(script for script in context.get(SCRIPTS, ()) if script not in scripts)
    return Panels(tuple(html), tuple(scripts))
