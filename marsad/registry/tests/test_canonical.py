from hypothesis import given, settings
from hypothesis import strategies as st

from marsad.registry.canonical import diff, flatten

# Documents shaped like records: maps keyed by codes (some with "/" or "~", which pointers escape),
# leaves that are strings, booleans or null, and empty maps.
leaves = st.none() | st.booleans() | st.sampled_from(["", "0", "12.50", "2026-01-31", "مشروع"])
keys = st.sampled_from(["schema", "a", "b", "c/d", "e~f", "MEN_TRT", "01.01.01"])
documents = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)


def leaf_by_leaf(before, after):
    """Every leaf of both documents compared: what ``diff`` must say, however it gets there."""
    old = flatten(before) if before else {}
    new = flatten(after)
    return [
        {"pointer": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(set(old) | set(new))
        if key != "/schema" and (old.get(key) != new.get(key) or (key in old) != (key in new))
    ]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, documents, max_size=5), st.dictionaries(keys, documents, max_size=5))
def test_diff_skipping_equal_branches_says_what_a_leaf_by_leaf_comparison_says(before, after):
    assert diff(before, after) == leaf_by_leaf(before, after)


def test_a_changed_leaf_deep_in_a_map_and_an_escaped_code():
    before = {"schema": "1", "outputs": {"MEN_TRT": {"target": "10", "achieved": "2"}}, "c/d": {"x": "1"}}
    after = {"schema": "2", "outputs": {"MEN_TRT": {"target": "10", "achieved": "5"}}, "c/d": {}}
    assert diff(before, after) == [
        {"pointer": "/c~1d", "before": None, "after": {}},
        {"pointer": "/c~1d/x", "before": "1", "after": None},
        {"pointer": "/outputs/MEN_TRT/achieved", "before": "2", "after": "5"},
    ]
    assert diff(None, {"schema": "1", "a": "x"}) == [{"pointer": "/a", "before": None, "after": "x"}]
    assert diff(after, after) == []
