"""RFC 9457 problem details: the one shape of every error the API returns.

A problem carries ``type``, ``title``, ``status`` and ``detail`` in the reader's language (Arabic by
default, French when asked through Accept-Language), and the same title and detail in both
languages under ``i18n`` so that a machine client can show either without asking again.
"""

import json
from collections.abc import Iterable

from django.http import HttpResponse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://marsad.ma/problems/"
LANGUAGES = ("ar", "fr")


def in_both_languages(message) -> dict[str, str]:
    """A lazy translatable message rendered in Arabic and in French."""
    rendered = {}
    for language in LANGUAGES:
        with translation.override(language):
            rendered[language] = str(message)
    return rendered


def problem(
    status: int,
    slug: str,
    title: Promise | str,
    detail: Promise | str | None = None,
    *,
    errors: Iterable[dict] | None = None,
    headers: dict[str, str] | None = None,
    **extensions,
) -> HttpResponse:
    body: dict = {
        "type": TYPE_BASE + slug,
        "title": str(title),
        "status": status,
    }
    i18n = {language: {"title": text} for language, text in in_both_languages(title).items()}
    if detail is not None:
        body["detail"] = str(detail)
        for language, text in in_both_languages(detail).items():
            i18n[language]["detail"] = text
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extensions)
    body["i18n"] = i18n
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class Problem(Exception):
    """Raised anywhere below a view to answer with a problem: the API and pages turn it into one."""

    def __init__(
        self, status: int, slug: str, title, detail=None, *, errors=None, headers=None, **extensions
    ):
        super().__init__(str(detail or title))
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extensions = extensions

    def response(self) -> HttpResponse:
        return problem(
            self.status,
            self.slug,
            self.title,
            self.detail,
            errors=self.errors,
            headers=self.headers,
            **self.extensions,
        )


def query_invalid(name: str, code: str, message, detail, /, **params) -> Problem:
    """A 422 problem for one query parameter (pointer ``/<name>``): ``message`` is a lazy translatable
    text, filled with ``params`` in Arabic and in French."""
    texts = {
        language: text % params if params else text for language, text in in_both_languages(message).items()
    }
    return Problem(
        422,
        "validation",
        _("Requête invalide"),
        detail,
        errors=[
            {
                "pointer": f"/{name}",
                "source": "query",
                "code": code,
                "message_fr": texts["fr"],
                "message_ar": texts["ar"],
            }
        ],
    )
