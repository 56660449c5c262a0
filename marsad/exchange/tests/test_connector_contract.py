"""marsad-connect cannot import the platform, so it keeps its own copy of the record's fields and
patterns for local validation: this test keeps the copy equal to the registry's rules."""

from marsad_connect import validate

from marsad.registry import rules


def test_the_connector_knows_the_same_record_fields_as_the_registry():
    assert set(validate.RECORD_FIELDS) == rules.RECORD_FIELDS
