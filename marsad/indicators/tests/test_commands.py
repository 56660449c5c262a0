from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from marsad.audit.services import SystemActor
from marsad.indicators.models import ProjectMonth
from marsad.registry.services import records_apply
from marsad.registry.tests.records import ADMIN_SCOPE, TODAY, record


@pytest.mark.django_db
def test_indicators_rebuild_reports_what_it_wrote():
    records_apply(
        actor=SystemActor("t"), records=[record(as_of="2026-08-31")], source_kind="command", source_id="t",
        scope=ADMIN_SCOPE, today=TODAY,
    )  # fmt: skip
    out = StringIO()
    call_command("indicators_rebuild", "--today", "2026-10-31", stdout=out)
    # August to October: three months, one output (SUP) each, one group.
    assert out.getvalue().strip() == "1 projets, 3 faits mensuels, 3 réalisations mensuelles, 3 agrégats."
    assert ProjectMonth.objects.count() == 3


@pytest.mark.django_db
def test_a_bad_date_is_refused_in_both_languages():
    with pytest.raises(CommandError, match=r"Date invalide « 31/10/2026 » .*تاريخ غير صالح"):
        call_command("indicators_rebuild", "--today", "31/10/2026")
