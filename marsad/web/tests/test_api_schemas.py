"""The OpenAPI document names each schema by its class name: two schema classes of one name would
share one entry, and the second would silently describe the first's answers."""

from collections import defaultdict

from ninja import Schema

import config.api


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


def test_schema_class_names_are_unique_across_the_api():
    modules = defaultdict(set)
    for cls in subclasses(Schema):
        if cls.__module__.startswith(("marsad.", "config.")):
            modules[cls.__name__].add(cls.__module__)
    assert {name: sorted(found) for name, found in modules.items() if len(found) > 1} == {}


def test_the_version_diff_and_the_change_feed_keep_their_own_schemas():
    components = config.api.api.get_openapi_schema()["components"]["schemas"]
    assert sorted(components["FieldChangeOut"]["required"]) == ["after", "before", "pointer"]
    assert "cursor" in components["ChangeOut"]["required"]
