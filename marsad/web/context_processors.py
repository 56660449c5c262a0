from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info


def language_switch(request):
    """The other languages of the page, each with the URL of the same page in that language."""
    current = get_language()
    path = request.get_full_path()
    return {
        "language_links": [
            {
                "code": code,
                "name": get_language_info(code)["name_local"],
                "url": translate_url(path, code),
                "current": code == current,
            }
            for code, _name in settings.LANGUAGES
        ],
        "text_direction": "rtl" if current == "ar" else "ltr",
    }
