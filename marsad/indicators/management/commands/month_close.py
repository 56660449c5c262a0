"""marsad month_close YYYY-MM: freeze a finished month's national figures as published (DESIGN §7)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from marsad.audit.services import SystemActor
from marsad.indicators.services import MonthCloseError, month_close

MESSAGES = {
    "month_not_over": (
        "Le mois {month} n'est pas terminé : seul un mois échu peut être clôturé.",
        "الشهر {month} لم ينته بعد: لا يمكن إقفال إلا شهر منصرم.",
    ),
    "month_already_closed": (
        "Le mois {month} est déjà clôturé ; ses chiffres publiés ne changent pas.",
        "الشهر {month} مقفل من قبل؛ أرقامه المنشورة لا تتغير.",
    ),
}


class Command(BaseCommand):
    help = (
        "Clôture un mois échu : fige ses chiffres nationaux (pays, régions, provinces, programmes, "
        "opérateurs) tels que publiés ; les corrections reçues ensuite apparaissent comme des révisions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("month", help="le mois à clôturer (AAAA-MM)")
        parser.add_argument("--note", default="", help="une note jointe à la clôture")
        parser.add_argument("--today", help="date du jour (AAAA-MM-JJ), par défaut aujourd'hui à Casablanca")

    def handle(self, *args, **options) -> None:
        month = _parse(f"{options['month']}-01", options["month"], "AAAA-MM")
        today = _parse(options["today"], options["today"], "AAAA-MM-JJ") if options["today"] else None
        try:
            close = month_close(
                actor=SystemActor("marsad month_close"), month=month, note=options["note"], today=today
            )
        except MonthCloseError as error:
            french, arabic = MESSAGES[error.code]
            label = f"{error.month:%Y-%m}"
            raise CommandError(f"{french.format(month=label)} / {arabic.format(month=label)}") from None
        self.stdout.write(f"Mois {close.month:%Y-%m} clôturé : {close.figures.count()} chiffres publiés.")


def _parse(text: str, shown: str, expected: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"Date invalide « {shown} » : attendu {expected}. / تاريخ غير صالح: الصيغة المنتظرة {expected}."
        ) from None
