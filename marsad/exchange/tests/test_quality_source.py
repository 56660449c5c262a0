"""The exchange's receipts feed the indicators' data-quality validity (DESIGN §7): records received in
a month per operator, rejected ones included, and those without any problem."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from marsad.exchange.selectors import receipt_record_counts
from marsad.indicators.facts import month_of
from marsad.indicators.quality import quality, record_counts
from marsad.registry.tests.records import ADMIN_SCOPE, record

from .support import sender

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keys_dir(settings, tmp_path):
    settings.MARSAD_KEYS_DIR = tmp_path / "keys"


def test_receipts_count_each_operator_s_records_and_the_clean_ones(client):
    doe = sender(write_for=("MA-ALOMRANE-DOE",))
    receipt = doe.submit(client, [
        record(operator_ref="ok"),
        record(operator_ref="warned", committed="100.00", paid="200.00"),
        record(operator_ref="bad", budget="douze"),
        record(operator_ref="foreign", operator="MA-ALOMRANE-CS"),
    ]).json()  # fmt: skip
    assert receipt["counts"]["rejected"] == 2
    dry = doe.submit(
        client, body=json.dumps({"records": [record(operator_ref="d")], "dry_run": True}).encode()
    )
    assert dry.status_code == 200  # a dry run's records are not counted
    now = timezone.now()
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    assert receipt_record_counts(*window) == {"MA-ALOMRANE-DOE": (3, 1), "MA-ALOMRANE-CS": (1, 0)}
    assert receipt_record_counts(now + timedelta(hours=1), now + timedelta(hours=2)) == {}
    # Registered by the exchange's app: the indicators count the same records, and only these (the
    # versions written by submissions are not counted twice).
    month = month_of(timezone.localdate())
    assert record_counts(month) == {"MA-ALOMRANE-DOE": (3, 1), "MA-ALOMRANE-CS": (1, 0)}
    found = {
        q.operator: (q.records, q.records_clean, str(q.validity)) for q in quality(ADMIN_SCOPE, month=month)
    }
    assert found == {"MA-ALOMRANE-DOE": (3, 1, "33.33"), "MA-ALOMRANE-CS": (1, 0, "0.00")}
