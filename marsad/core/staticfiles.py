"""Serves third-party browser assets shipped inside Python wheels as static files.

Nothing is loaded from a CDN: ``vendor/plotly.min.js`` is the copy inside the plotly wheel, so the
version in the page is always the one of the installed Python package.
"""

from importlib import resources
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

VENDOR_FILES = {
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}


def vendor_path(package: str, relative: str) -> Path:
    return Path(str(resources.files(package).joinpath(relative)))


class VendorFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path in VENDOR_FILES:
            found = str(vendor_path(*VENDOR_FILES[path]))
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns):
        for name, (package, relative) in VENDOR_FILES.items():
            source = vendor_path(package, relative)
            storage = FileSystemStorage(location=str(source.parent))
            storage.prefix = str(Path(name).parent)
            yield source.name, storage
