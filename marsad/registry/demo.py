"""Demo data: a deterministic, realistic registry written through the services.

``demo_generate(projects=N, seed=S, today=...)`` plans N projects across the 12 regions from the
census (slum households for VSB, rural needs for PRDTS, urban population for MANU/PU/...), then
replays their life month by month through ``records_apply``: every simulated month's reports are one
batch (or a few of ``batch_size``), received on that month's last day, with ``today=`` that day. A
project reports from its first programming to its completion: quarterly while in preparation, monthly
(or quarterly for a third of them) during works, quarterly before 2022 (histories from before the
DGCT-Al Omrane exchange are backfilled at that pace), and on each change of status. Its physical
progress follows a logistic S-curve; committed and paid amounts follow the award and the progress;
outputs and milestones follow the progress. Some projects are late, stalled, over budget, cancelled
(status ANNU) or withdrawn (a withdrawal record); a few have a financing plan that does not add up
or a progress that goes back once (each raises its warning).

Housing programmes are carried out by the Al Omrane subsidiary of the project's region; the others by
a subsidiary or by the region's project agency (``MA-AREP-xx``, an operator the generator creates).

Everything derives from ``random.Random(seed)`` and the territories, in a fixed order, so the same
seed and size give the same versions (the same SHA-256 for every one) whatever the clock. Draws use
basic float arithmetic and curves ``Decimal`` (both platform-independent). Running it again is
idempotent: a project that already exists only receives its final record, which is "unchanged".

The facts of the seed press releases are always present: the Dakhla urban pole (≈275 ha, PU,
Al Omrane Dakhla-Oued Ed-Dahab) under a PPP agreement with the GIE "Dakhla ville intelligente"; the
new town of Lakhyayta (VN, Al Omrane Casablanca-Settat, commune Sahel Oulad H'riz, Berrechid); the
Casablanca-Settat subsidiary's ≈500 million MAD of new projects a year; and over 7 billion MAD
mobilised by Al Omrane in the southern provinces (regions 10, 11 and 12).
"""

from __future__ import annotations

import bisect
import math
import random
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from marsad.accounts.choices import OrganisationKind, Role
from marsad.accounts.scoping import Scope
from marsad.audit.models import ActorKind

DEMO_TODAY = date(2026, 10, 31)
DEMO_PASSWORD = "marsad-demo-2026"  # noqa: S105 - the published password of the demo users
DEFAULT_PROJECTS = 3000
DEFAULT_SEED = 1
BATCH_SIZE = 1000
FIRST_YEAR = 2011

M = 1_000_000
# Budget ranges per programme, in MAD (every demo budget falls in its programme's range).
BUDGET_RANGES: dict[str, tuple[int, int]] = {
    "VSB": (20 * M, 400 * M),
    "HMR": (5 * M, 120 * M),
    "RQSE": (10 * M, 250 * M),
    "MANU": (10 * M, 500 * M),
    "LS250": (50 * M, 600 * M),
    "LFVIT140": (20 * M, 200 * M),
    "VN": (1_000 * M, 10_000 * M),
    "PU": (200 * M, 3_000 * M),
    "ZAE": (20 * M, 400 * M),
    "CE": (10 * M, 150 * M),
    "PRDTS": (1 * M, 30 * M),
    "PDR": (10 * M, 500 * M),
    "PDTI": (5 * M, 200 * M),
    "PDP": (2 * M, 80 * M),
    "PAC": (1 * M, 40 * M),
}
# Programmes only Al Omrane carries out (its regional subsidiary), programmes it or the region's
# project agency may carry out, and local programmes carried out by the agency.
HOUSING = ("VSB", "HMR", "RQSE", "LS250", "LFVIT140", "VN", "PU")
MIXED = ("MANU", "ZAE", "CE", "PRDTS", "PDR", "PDTI")
LOCAL = ("PDP", "PAC")
# Share of the mixed programmes' projects operated by Al Omrane (outside the regions whose Al Omrane
# portfolio is fixed by the seed facts).
AL_OMRANE_SHARE = {"MANU": 0.6, "ZAE": 0.6, "CE": 0.5, "PRDTS": 0.2, "PDR": 0.35, "PDTI": 0.2}
DELIVERED = ("VSB", "HMR", "LS250", "LFVIT140")  # these end "Livré / attribué" (LIVR)
# Generic mix (relative weights).
PROGRAMME_WEIGHTS = {
    "VSB": 9,
    "HMR": 6,
    "RQSE": 8,
    "MANU": 9,
    "LS250": 5,
    "LFVIT140": 2,
    "VN": 0.2,
    "PU": 3,
    "ZAE": 4,
    "CE": 5,
    "PRDTS": 28,
    "PDR": 9,
    "PDTI": 3,
    "PDP": 4,
    "PAC": 4.5,
}
# Years in which a programme's projects may start (planned start), after the catalogue's periods.
PROGRAMME_YEARS = {
    "LS250": (FIRST_YEAR, 2020),
    "LFVIT140": (FIRST_YEAR, 2020),
    "PRDTS": (2017, 2023),
    "PDR": (2022, 2027),
    "PDP": (2022, 2027),
    "PAC": (2022, 2027),
    "PDTI": (2026, 2027),
}
# Planned works duration (months).
DURATIONS = {
    "VSB": (24, 60),
    "HMR": (12, 36),
    "RQSE": (18, 42),
    "MANU": (18, 48),
    "LS250": (24, 48),
    "LFVIT140": (18, 36),
    "VN": (96, 168),
    "PU": (48, 120),
    "ZAE": (18, 42),
    "CE": (18, 36),
    "PRDTS": (6, 24),
    "PDR": (12, 48),
    "PDTI": (12, 36),
    "PDP": (8, 24),
    "PAC": (6, 18),
}
AREAS_HA = {
    "VSB": (5, 80),
    "RQSE": (5, 100),
    "LS250": (2, 30),
    "LFVIT140": (2, 20),
    "VN": (100, 400),
    "PU": (50, 600),
    "ZAE": (10, 150),
    "CE": (20, 200),
}
# Which communes host a programme's projects (see _Sites): the census need each one answers.
POOLS = {
    "VSB": "slum",
    "HMR": "old",
    "RQSE": "sewer",
    "MANU": "urban",
    "LS250": "deficit",
    "LFVIT140": "deficit",
    "PU": "urban",
    "ZAE": "urban",
    "CE": "centre",
    "PRDTS": "rural",
    "PDR": "all",
    "PDTI": "all",
    "PDP": "rural",
    "PAC": "all",
}
NEW_TOWNS = (
    # (commune, name fr, name ar, operator)
    ("04.501.03.11", "Tamesna", "تامسنا", "MA-ALOMRANE-RSK"),
    ("07.351.03.03", "Tamansourt", "تامنصورت", "MA-ALOMRANE-MS"),
    ("01.227.03.11", "Chrafate", "الشرافات", "MA-ALOMRANE-TTA"),
)
REGION_SUBSIDIARY = {
    "01": "MA-ALOMRANE-TTA",
    "02": "MA-ALOMRANE-OR",
    "03": "MA-ALOMRANE-FM",
    "04": "MA-ALOMRANE-RSK",
    "05": "MA-ALOMRANE-BMK",
    "06": "MA-ALOMRANE-CS",
    "07": "MA-ALOMRANE-MS",
    "08": "MA-ALOMRANE-DT",
    "09": "MA-ALOMRANE-SM",
    "10": "MA-ALOMRANE-GON",
    "11": "MA-ALOMRANE-LSH",
    "12": "MA-ALOMRANE-DOE",
}
SOUTH = ("10", "11", "12")
# Regions whose Al Omrane projects come only from the seed facts' portfolios.
PORTFOLIO_REGIONS = ("06", *SOUTH)
# Before the DGCT-Al Omrane exchange (convention of June 2022) histories are backfilled quarterly.
MONTHLY_FROM = 2022 * 12
CS_YEARLY_BUDGET = 500 * M
CS_YEARS = range(2012, 2027)
SOUTH_TOTAL = 7_600 * M


def agency_code(region: str) -> str:
    """The region's project agency (agence régionale d'exécution des projets), a demo operator."""
    return f"MA-AREP-{region}"


# Financing plans: partner → share range. OP is the operator (only when it is Al Omrane), CR the
# region council, CC the commune council and CP the province council (when the fixture has them).
FINANCING = {
    "VSB": (("OP", 0.25, 0.45), ("MA-FSHIU", 0.35, 0.55), ("CR", 0.05, 0.15), ("CC", 0.02, 0.08)),
    "HMR": (
        ("MA-FSHIU", 0.4, 0.6),
        ("MA-MATNUHPV", 0.1, 0.2),
        ("CR", 0.1, 0.2),
        ("CC", 0.05, 0.1),
        ("OP", 0.05, 0.15),
    ),
    "RQSE": (("MA-FSHIU", 0.3, 0.5), ("CR", 0.15, 0.3), ("MA-MI", 0.1, 0.2), ("CC", 0.05, 0.15)),
    "MANU": (("MA-MI", 0.3, 0.5), ("MA-MATNUHPV", 0.15, 0.3), ("CR", 0.15, 0.3), ("CC", 0.05, 0.15)),
    "LS250": (("OP", 0.7, 0.9), ("MA-CIH", 0.1, 0.3)),
    "LFVIT140": (("OP", 0.6, 0.8), ("MA-FSHIU", 0.2, 0.4)),
    "VN": (("OP", 0.5, 0.7), ("MA-MATNUHPV", 0.1, 0.25), ("MA-CDG", 0.1, 0.2), ("CR", 0.05, 0.1)),
    "PU": (("OP", 0.6, 0.8), ("CR", 0.1, 0.2), ("MA-MATNUHPV", 0.05, 0.15)),
    "ZAE": (("OP", 0.4, 0.6), ("CR", 0.25, 0.4), ("MA-MEF", 0.05, 0.15)),
    "CE": (("MA-MATNUHPV", 0.3, 0.5), ("MA-FSHIU", 0.2, 0.3), ("CR", 0.15, 0.3), ("CC", 0.05, 0.1)),
    "PRDTS": (("MA-FDRZM", 0.3, 0.5), ("CR", 0.2, 0.35), ("MA-MI", 0.15, 0.3)),
    "PDR": (("CR", 0.5, 0.7), ("MA-MI", 0.15, 0.3), ("OP", 0.05, 0.15)),
    "PDTI": (("MA-MI", 0.5, 0.7), ("CR", 0.2, 0.35), ("CP", 0.05, 0.1)),
    "PDP": (("MA-MI", 0.4, 0.6), ("CR", 0.2, 0.4), ("CP", 0.1, 0.2)),
    "PAC": (("CC", 0.3, 0.5), ("MA-MI", 0.3, 0.5), ("MA-DGCT", 0.1, 0.2)),
}
# Output indicators per programme: (code, how the target is set, how "achieved" follows progress).
# Targets: "budget:lo:hi" = budget / uniform(lo, hi); "area" = the area; "lots:lo:hi" = area ×
# uniform(lo, hi); "same:CODE" = the target of CODE. Curves: linear, early (ahead of progress), late
# (behind it), delivered (at delivery only), none (a target without achievement).
OUTPUTS = {
    "VSB": (
        ("MEN_CIB", "budget:120000:220000", "none"),
        ("MEN_TRT", "same:MEN_CIB", "late"),
        ("BAR_DEM", "same:MEN_CIB", "late"),
    ),
    "HMR": (("MEN_CIB", "budget:100000:180000", "none"), ("MEN_TRT", "same:MEN_CIB", "late")),
    "RQSE": (("POP_BEN", "budget:2500:6000", "linear"), ("SUP", "area", "linear")),
    "MANU": (("POP_BEN", "budget:500:2000", "linear"), ("JT", "budget:800:1500", "linear")),
    "LS250": (
        ("UPN_MEC", "budget:200000:240000", "early"),
        ("UPN_ACH", "same:UPN_MEC", "late"),
        ("LIV", "same:UPN_MEC", "delivered"),
    ),
    "LFVIT140": (
        ("UPN_MEC", "budget:120000:140000", "early"),
        ("UPN_ACH", "same:UPN_MEC", "late"),
        ("LIV", "same:UPN_MEC", "delivered"),
    ),
    "VN": (("SUP", "area", "linear"), ("LOTS", "lots:12:25", "late")),
    "PU": (("SUP", "area", "linear"), ("LOTS", "lots:15:30", "late")),
    "ZAE": (("SUP", "area", "linear"), ("LOTS", "lots:2:6", "late")),
    "CE": (("POP_BEN", "budget:800:2500", "linear"), ("SUP", "area", "linear")),
    "PRDTS": (("POP_BEN", "budget:150:800", "linear"), ("JT", "budget:400:900", "linear")),
    "PDR": (("POP_BEN", "budget:200:1000", "linear"), ("JT", "budget:400:900", "linear")),
    "PDTI": (("POP_BEN", "budget:200:1000", "linear"), ("JT", "budget:400:900", "linear")),
    "PDP": (("POP_BEN", "budget:200:800", "linear"),),
    "PAC": (("POP_BEN", "budget:100:600", "linear"),),
}
# Milestones beyond the common ones (SIGN_CONV, LANC_AO, ATTR, OS, RP, RD): (code, progress at
# which it is reached, or "delivery").
EXTRA_MILESTONES = {
    "VSB": (("MOB_FONC", "prep"), ("DEMOL", 55), ("RELOG", 75), ("CV", "delivery")),
    "HMR": (("RELOG", 60),),
    "LS250": (("MOB_FONC", "prep"), ("AUTOR", "prep"), ("CV", "delivery")),
    "LFVIT140": (("MOB_FONC", "prep"), ("AUTOR", "prep"), ("CV", "delivery")),
    "VN": (("MOB_FONC", "prep"), ("AUTOR", "prep")),
    "PU": (("MOB_FONC", "prep"), ("AUTOR", "prep")),
    "ZAE": (("MOB_FONC", "prep"), ("AUTOR", "prep")),
}

# Names for titles: neighbourhoods, housing estates and douars (French, Arabic).
QUARTERS = (
    ("Hay Al Massira", "حي المسيرة"),
    ("Hay Al Amal", "حي الأمل"),
    ("Hay Ennahda", "حي النهضة"),
    ("Hay Al Fath", "حي الفتح"),
    ("Hay Al Qods", "حي القدس"),
    ("Hay Salam", "حي السلام"),
    ("Hay Al Wahda", "حي الوحدة"),
    ("Hay Najah", "حي النجاح"),
    ("Hay Al Inbiaat", "حي الانبعاث"),
    ("Hay Al Farah", "حي الفرح"),
    ("Hay Al Karama", "حي الكرامة"),
    ("Hay Al Houda", "حي الهدى"),
    ("Hay Al Mostakbal", "حي المستقبل"),
    ("Hay Annour", "حي النور"),
    ("Hay Al Andalous", "حي الأندلس"),
    ("Hay Essaada", "حي السعادة"),
    ("Hay Al Yasmine", "حي الياسمين"),
    ("Hay Al Kheir", "حي الخير"),
    ("Hay Tissir", "حي التيسير"),
    ("Hay Al Wifaq", "حي الوفاق"),
    ("Douar Lahouna", "دوار الحونة"),
    ("Douar Jdid", "دوار الجديد"),
    ("Douar Lbir", "دوار البير"),
    ("Douar Ouled Ahmed", "دوار أولاد أحمد"),
    ("Douar Chleuh", "دوار الشلوح"),
    ("Douar Lakrimat", "دوار الكريمات"),
    ("Karyan Al Oued", "كاريان الواد"),
    ("Karyan Sidi Mbarek", "كاريان سيدي مبارك"),
)
ESTATES = (
    ("Résidence Al Amal", "إقامة الأمل"),
    ("Résidence Annasr", "إقامة النصر"),
    ("Résidence Al Wafa", "إقامة الوفاء"),
    ("Résidence Al Baraka", "إقامة البركة"),
    ("Résidence Riad Al Andalous", "إقامة رياض الأندلس"),
    ("Résidence Al Majd", "إقامة المجد"),
    ("Résidence Al Irfane", "إقامة العرفان"),
    ("Résidence Al Firdaous", "إقامة الفردوس"),
    ("Résidence Assalam", "إقامة السلام"),
    ("Résidence Al Mansour", "إقامة المنصور"),
)
DOUARS = (
    ("douar Aït Ali", "دوار آيت علي"),
    ("douar Tafraout", "دوار تافراوت"),
    ("douar Ouled Said", "دوار أولاد سعيد"),
    ("douar Tizi", "دوار تيزي"),
    ("douar Imi n'Tala", "دوار إيمي نتالا"),
    ("douar Laâyayda", "دوار العيايدة"),
    ("douar Aït Brahim", "دوار آيت إبراهيم"),
    ("douar Ouled Moussa", "دوار أولاد موسى"),
    ("douar Agadir n'Ouzrou", "دوار أكادير نوزرو"),
    ("douar Bni Yahya", "دوار بني يحيى"),
)


def _bi(name: str) -> str:
    """Arabic "in <name>" (ب + name, written together)."""
    return "ب" + name


def _li(name: str) -> str:
    """Arabic "of/for <name>" (ل + name; ل + ال is written لل)."""
    return "ل" + (name[1:] if name.startswith("ال") else name)


# Title templates: (fr, ar) with {c}/{ca} the commune, {q}/{qa} a neighbourhood, estate or douar.
TITLES = {
    "VSB": (
        ("Résorption du bidonville {q} à {c}", "القضاء على دور الصفيح {bq} {bc}"),
        ("Recasement des ménages du {q} à {c}", "إعادة إيواء أسر {qa} {bc}"),
        ("Relogement des ménages du {q} à {c}", "إعادة إسكان أسر {qa} {bc}"),
    ),
    "HMR": (("Traitement de l'habitat menaçant ruine — {q}, {c}", "معالجة الدور الآيلة للسقوط {bq} {bc}"),),
    "RQSE": (("Restructuration du quartier {q} à {c}", "إعادة هيكلة {qa} {bc}"),),
    "MANU": (
        ("Mise à niveau urbaine de {c}", "التأهيل الحضري {lc}"),
        ("Mise à niveau du quartier {q} à {c}", "تأهيل {qa} {bc}"),
        ("Aménagement des espaces publics de {c}", "تهيئة الفضاءات العمومية {bc}"),
    ),
    "LS250": (("Logements sociaux « {q} » à {c}", "السكن الاجتماعي «{qa}» {bc}"),),
    "LFVIT140": (("Logements à faible VIT « {q} » à {c}", "السكن ذو القيمة العقارية المنخفضة «{qa}» {bc}"),),
    "PU": (("Pôle urbain {q} à {c}", "القطب الحضري {qa} {bc}"),),
    "ZAE": (("Zone d'activités économiques de {c}", "منطقة الأنشطة الاقتصادية {bc}"),),
    "CE": (("Mise à niveau du centre de {c}", "تأهيل مركز {ca}"),),
    "PRDTS": (
        ("Route rurale desservant le {q} (commune {c})", "بناء الطريق القروية المؤدية إلى {qa} بجماعة {ca}"),
        ("Alimentation en eau potable des douars de {c}", "تزويد دواوير جماعة {ca} بالماء الصالح للشرب"),
        ("Électrification des douars de {c}", "كهربة دواوير جماعة {ca}"),
        ("Construction d'une école communautaire à {c}", "بناء مدرسة جماعاتية بجماعة {ca}"),
        ("Construction d'un centre de santé rural à {c}", "بناء مركز صحي قروي بجماعة {ca}"),
    ),
    "PDR": (
        ("Aménagement de la route régionale — tronçon de {c}", "تهيئة الطريق الجهوية — مقطع {ca}"),
        ("Construction d'un complexe sportif à {c}", "بناء مركب رياضي {bc}"),
        ("Aménagement de la voirie de {c}", "تهيئة شبكة الطرق {bc}"),
    ),
    "PDTI": (
        ("PDTI {c} : emploi des jeunes", "البرنامج المندمج للتنمية الترابية {bc}: تشغيل الشباب"),
        (
            "PDTI {c} : services sociaux de base",
            "البرنامج المندمج للتنمية الترابية {bc}: الخدمات الاجتماعية الأساسية",
        ),
        ("PDTI {c} : gestion de l'eau", "البرنامج المندمج للتنمية الترابية {bc}: تدبير الماء"),
        (
            "PDTI {c} : mise à niveau territoriale intégrée",
            "البرنامج المندمج للتنمية الترابية {bc}: التأهيل الترابي المندمج",
        ),
    ),
    "PDP": (("Aménagement de pistes rurales à {c}", "تهيئة المسالك القروية بجماعة {ca}"),),
    "PAC": (("Éclairage public et voirie à {c}", "الإنارة العمومية والطرق بجماعة {ca}"),),
}
DESCRIPTIONS = {
    "MEN_CIB": ("Opération au profit de {n} ménages.", "عملية لفائدة {n} أسرة."),
    "UPN_MEC": ("Programme de {n} logements.", "برنامج يضم {n} وحدة سكنية."),
    "SUP": ("Aménagement de {n} ha.", "تهيئة {n} هكتار."),
    "POP_BEN": ("Population bénéficiaire : {n} habitants.", "الساكنة المستفيدة: {n} نسمة."),
}

# Behaviours (probabilities for projects outside the seed facts' portfolios).
P_CANCELLED = 0.03
P_WITHDRAWN = 0.015
P_STALLED = 0.07
P_LATE = 0.2
P_OVER_BUDGET = 0.04
P_MISMATCH = 0.03
P_REGRESSION = 0.015
P_QUARTERLY = 0.35
P_PUBLISHED = 0.65
WITHDRAWAL_REASONS = (
    "Doublon d'une fiche existante",
    "Saisie erronée (projet d'un autre opérateur)",
    "Projet fusionné avec une autre opération",
)


class DemoDataError(Exception):
    """The database is not ready for demo data (territories or reference data missing)."""


@dataclass(frozen=True)
class DemoActor:
    """The demo generator acting on its own account, with an administrator's scope."""

    name: str = "demo_data"

    def audit_identity(self) -> tuple[str, str, str]:
        return ActorKind.SYSTEM, "", self.name

    def marsad_scope(self) -> Scope:
        return Scope(roles=frozenset({Role.ADMINISTRATOR}), label=self.name)


# --- Dates --------------------------------------------------------------------------------------------------


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_end(index: int) -> date:
    year, month = divmod(index + 1, 12)
    return date(year, month + 1, 1) - timedelta(days=1)


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _days(day: date, count: float) -> date:
    return day + timedelta(days=int(count))


# --- Sites: the communes that host projects, weighted by need ---------------------------------------------


@dataclass(frozen=True)
class Site:
    code: str
    name_fr: str
    name_ar: str
    region: str
    province: str
    rural: bool
    lat: Decimal | None
    lon: Decimal | None


class _Pool:
    """Sites with cumulative weights: one weighted draw is one ``rng.random()`` and a bisection."""

    def __init__(self, entries: list[tuple[Site, float]]):
        self.sites = [site for site, _weight in entries]
        self.cumulative: list[float] = []
        total = 0.0
        for _site, weight in entries:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> Site:
        index = bisect.bisect_right(self.cumulative, rng.random() * self.total)
        return self.sites[min(index, len(self.sites) - 1)]


class Sites:
    """Communes and arrondissements with the census needs that weight each programme's choice:

    - ``slum``: slum households (urban households × urban share of slum or basic dwellings) of urban
      communes and arrondissements (a city divided into arrondissements counts through them);
    - ``urban``: urban households of urban communes; ``deficit``: × the urban housing deficit rate;
      ``old``: × the share of dwellings 50 years old or more; ``sewer``: × the share without sewer;
    - ``rural``: rural households of rural communes × (1 + shares without running water and without
      electricity); ``centre``: the urban households of rural communes (emerging centres);
    - ``all``: every commune, by the square root of its households.
    """

    def __init__(self) -> None:
        from marsad.territories.census import slum_households
        from marsad.territories.choices import Area, Kind, Level
        from marsad.territories.models import HouseholdCensus, Territory, TerritoryBoundary

        levels = [Level.COMMUNE, Level.ARRONDISSEMENT]
        units = list(
            Territory.objects.filter(level__in=levels)
            .order_by("code")
            .values_list(
                "id",
                "code",
                "level",
                "kind",
                "name_fr",
                "name_ar",
                "region_code",
                "province_code",
                "households_2024",
            )
        )
        points = {
            tid: (lat, lon)
            for tid, lat, lon in TerritoryBoundary.objects.filter(territory__level__in=levels).values_list(
                "territory_id", "label_lat", "label_lon"
            )
        }
        census: dict[tuple[int, str], tuple] = {}
        for row in HouseholdCensus.objects.filter(territory__level__in=levels).values_list(
            "territory_id",
            "area",
            "households_count",
            "dwelling_type_basic_or_slum",
            "dwellings_deficit_rate",
            "dwelling_age_50_plus",
            "wastewater_public_sewer",
            "amenities_running_water",
            "amenities_electricity",
        ):
            census[(row[0], row[1])] = row[2:]
        divided = set(
            Territory.objects.filter(level=Level.ARRONDISSEMENT).values_list("commune_code", flat=True)
        )
        self.by_code: dict[str, Site] = {}
        self.rural_by_province: dict[str, list[Site]] = defaultdict(list)
        pools: dict[str, list[tuple[Site, float]]] = defaultdict(list)
        for tid, code, level, kind, name_fr, name_ar, region, province, households in units:
            lat, lon = points.get(tid, (None, None))
            site = Site(code, name_fr, name_ar, region, province, kind == Kind.RURAL, lat, lon)
            self.by_code[code] = site
            urban = census.get((tid, Area.URBAN))
            rural = census.get((tid, Area.RURAL))
            if urban and (level == Level.ARRONDISSEMENT or (kind == Kind.URBAN and code not in divided)):
                pools["slum"].append((site, float(slum_households(urban[0], urban[1]) or 0)))
            if level != Level.COMMUNE:
                continue
            pools["all"].append((site, math.sqrt(max(households or 0, 1))))
            if kind == Kind.URBAN and urban:
                count = float(urban[0] or 0)
                deficit = float(urban[2]) if urban[2] is not None else 5.0
                pools["urban"].append((site, count))
                pools["deficit"].append((site, count * deficit / 100))
                pools["old"].append((site, count * float(urban[3] or 0) / 100))
                pools["sewer"].append(
                    (site, count * (100 - float(urban[4] if urban[4] is not None else 90)) / 100)
                )
            elif kind == Kind.RURAL:
                self.rural_by_province[province].append(site)
                if rural:
                    water = float(rural[5]) if rural[5] is not None else 50.0
                    electricity = float(rural[6]) if rural[6] is not None else 80.0
                    need = 1 + (100 - water) / 100 + (100 - electricity) / 100
                    pools["rural"].append((site, float(rural[0] or 0) * need))
                if urban and urban[0]:
                    pools["centre"].append((site, float(urban[0])))
        self.entries = {
            name: [(s, w) for s, w in entries if w > 0] for name, entries in sorted(pools.items())
        }
        self._cache: dict[tuple, _Pool | None] = {}

    def pool(self, name: str, regions: Sequence[str] | None = None, exclude: bool = False) -> _Pool | None:
        """The pool ``name`` within ``regions`` (or outside them with ``exclude``); None when empty."""
        key = (name, tuple(regions) if regions is not None else None, exclude)
        if key not in self._cache:
            entries = self.entries.get(name, [])
            if regions is not None:
                entries = [(s, w) for s, w in entries if (s.region in regions) != exclude]
            self._cache[key] = _Pool(entries) if entries else None
        return self._cache[key]

    def pick(
        self, rng: random.Random, programme: str, regions: Sequence[str] | None = None, exclude: bool = False
    ) -> Site:
        pool = self.pool(POOLS[programme], regions, exclude) or self.pool("all", regions, exclude)
        if pool is None:
            raise DemoDataError(f"Aucune commune pour le programme {programme}.")
        return pool.pick(rng)


# --- Plans: one project's whole life, drawn up front -------------------------------------------------------

# Curves are computed in a fixed decimal context, whatever the caller's.
DECIMALS = Context(prec=28, rounding=ROUND_HALF_EVEN)
D100 = Decimal(100)
CENT = Decimal("0.01")
HALF = Decimal("0.5")


def _dec(value: float, places: int = 4) -> Decimal:
    """A float drawn from the generator as a Decimal with a fixed number of places."""
    return Decimal(f"{value:.{places}f}")


def _sigmoid(z: Decimal) -> Decimal:
    return 1 / (1 + (-z).exp())


def _money(value: Decimal | int) -> str:
    return f"{Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)}.00"


def _number(value: Decimal) -> str:
    """A measure without trailing zeros or exponent, as records carry them: 275, 12.5."""
    return f"{value.normalize():f}"


@dataclass(slots=True)
class Plan:
    operator: str
    ref: str
    programme: str
    site: Site
    portfolio: str
    communes: dict
    title: dict
    description: dict
    budget: int
    financing: dict[str, int]
    area: Decimal | None
    location: dict | None
    outputs: list[tuple[str, Decimal, str]]
    first: date
    planned_start: date
    planned_end: date
    start: date
    works_days: int
    sign: date
    etud: date
    ao: date
    attr: date
    planned_sign: date
    planned_ao: date
    planned_attr: date
    k: Decimal
    study_share: Decimal
    award_share: Decimal
    final_share: Decimal
    pay_ratio: Decimal
    quarterly: bool
    published: bool
    link_agreement: bool
    behaviour: str = "normal"
    stall_at: date | None = None
    stall_days: int | None = None
    stall_status: str = "DIFF"
    end: date | None = None
    delivered: date | None = None
    cancelled: date | None = None
    withdrawn: date | None = None
    withdrawal_reason: str = ""
    over_budget: bool = False
    mismatch: bool = False
    regression: Decimal | None = None
    regression_month: int | None = None
    agreement: str | None = None
    months: list[int] = field(default_factory=list)
    withdrawal_month: int | None = None
    _s0: Decimal = Decimal(0)
    _s1: Decimal = Decimal(1)

    # The state on a report date ---------------------------------------------------------------------------

    def curve(self, x: Decimal) -> Decimal:
        """Physical progress (0–100) after a share ``x`` of the works: a logistic S-curve."""
        if x <= 0:
            return Decimal(0)
        if x >= 1:
            return D100
        return D100 * (_sigmoid(self.k * (x - HALF)) - self._s0) / (self._s1 - self._s0)

    def works_elapsed(self, day: date) -> int:
        elapsed = (day - self.start).days
        if self.stall_at is not None and day > self.stall_at:
            stalled = (day - self.stall_at).days
            if self.stall_days is not None:
                stalled = min(stalled, self.stall_days)
            elapsed -= stalled
        return elapsed

    def progress(self, day: date) -> Decimal:
        if day < self.start:
            return Decimal(0)
        if self.end is not None and day >= self.end:
            return D100
        value = self.curve(Decimal(self.works_elapsed(day)) / self.works_days)
        return min(value.quantize(CENT, rounding=ROUND_HALF_UP), Decimal("99.50"))

    def stalled_on(self, day: date) -> bool:
        if self.stall_at is None or day < self.stall_at:
            return False
        return self.stall_days is None or day < self.stall_at + timedelta(days=self.stall_days)

    def status(self, day: date) -> str:
        if self.cancelled is not None and day >= self.cancelled:
            return "ANNU"
        if self.end is not None and day >= self.end:
            return "LIVR" if self.delivered is not None and day >= self.delivered else "ACHV"
        if day >= self.start:
            return self.stall_status if self.stalled_on(day) else "ENCO"
        for since, status in ((self.ao, "AO"), (self.etud, "ETUD"), (self.sign, "CONV")):
            if day >= since:
                return status
        return "PROG"

    def date_at(self, share: Decimal) -> date | None:
        """When the works reach ``share`` of their progress (None if never: an endless stall)."""
        target = self._s0 + share * (self._s1 - self._s0)
        x = HALF - ((1 / target) - 1).ln() / self.k
        offset = int((x * self.works_days).to_integral_value(rounding=ROUND_FLOOR))
        if self.stall_at is not None and offset > (self.stall_at - self.start).days:
            if self.stall_days is None:
                return None
            offset += self.stall_days
        return self.start + timedelta(days=offset)

    def planned_date_at(self, share: Decimal) -> date:
        target = self._s0 + share * (self._s1 - self._s0)
        x = HALF - ((1 / target) - 1).ln() / self.k
        span = (self.planned_end - self.planned_start).days
        return self.planned_start + timedelta(days=int(x * span))

    def milestones(self, day: date) -> dict:
        def entry(planned, actual, forecast=None):
            return {
                "planned": planned.isoformat() if planned else None,
                "forecast": forecast.isoformat() if forecast else None,
                "actual": actual.isoformat() if actual and actual <= day else None,
            }

        prep_planned = self.planned_sign + (self.planned_ao - self.planned_sign) * 2 / 5
        prep_actual = self.sign + (self.ao - self.sign) * 2 / 5
        found = {
            "SIGN_CONV": entry(self.planned_sign, self.sign),
            "LANC_AO": entry(self.planned_ao, self.ao),
            "ATTR": entry(self.planned_attr, self.attr),
            "OS": entry(self.planned_start, self.start),
        }
        forecast = None
        if day >= self.start and (self.end is None or day < self.end) and self.end != self.planned_end:
            forecast = self.end or max(day, self.planned_end) + timedelta(days=365)
        found["RP"] = entry(self.planned_end, self.end, forecast)
        found["RD"] = entry(self.planned_end + timedelta(days=365), None)
        for code, when in EXTRA_MILESTONES.get(self.programme, ()):
            if when == "prep":
                found[code] = entry(prep_planned, prep_actual)
            elif when == "delivery":
                found[code] = entry(self.planned_end + timedelta(days=90), self.delivered)
            else:
                share = Decimal(when) / D100
                found[code] = entry(self.planned_date_at(share), self.date_at(share))
        return found

    def outputs_at(self, day: date, progress: Decimal) -> dict:
        started = day >= self.start
        ended = self.end is not None and day >= self.end
        share = progress / D100
        found = {}
        for code, target, curve in self.outputs:
            achieved = None
            if curve == "delivered":
                achieved = target if self.delivered is not None and day >= self.delivered else None
            elif curve != "none" and started:
                if ended:
                    value = Decimal(1)
                elif curve == "early":
                    value = min(Decimal(1), share * Decimal("1.6"))
                elif curve == "late":
                    value = share * share
                else:
                    value = share
                places = CENT if code == "SUP" else Decimal(1)
                achieved = (target * value).quantize(places, rounding=ROUND_FLOOR)
            found[code] = {
                "target": _number(target),
                "achieved": None if achieved is None else _number(achieved),
            }
        return found

    def amounts(self, day: date, progress: Decimal) -> tuple[Decimal, Decimal]:
        budget = Decimal(self.budget)
        if day < self.etud:
            return Decimal(0), Decimal(0)
        if day < self.attr:
            committed = budget * self.study_share
            return committed, committed / 2 if day >= self.ao else Decimal(0)
        share = progress / D100
        committed = budget * (self.award_share + (self.final_share - self.award_share) * share)
        if day < self.start:
            return committed, budget * self.study_share / 2
        paid = min(committed, budget * (self.study_share + share * self.pay_ratio))
        return committed, paid

    def record(self, day: date, month: int | None = None) -> dict:
        """The report of ``day``: the record as the operator's system would send it."""
        progress = self.progress(day)
        committed, paid = self.amounts(day, progress)
        reported = progress
        if self.regression is not None and month is not None and month == self.regression_month:
            # A correction: below the previous report, then the curve again.
            before = self.progress(_month_end(self.months[self.months.index(month) - 1]))
            reported = max(Decimal(0), before - self.regression)
        ended = self.end is not None and day >= self.end
        return {
            "operator": self.operator,
            "operator_ref": self.ref,
            "title": self.title,
            "description": self.description,
            "programme": self.programme,
            "status": self.status(day),
            "agreement": self.agreement if self.agreement and day >= self.sign else None,
            "communes": self.communes,
            "location": self.location,
            "area_ha": None if self.area is None else _number(self.area),
            "planned_start": self.planned_start.isoformat(),
            "planned_end": self.planned_end.isoformat(),
            "actual_start": self.start.isoformat() if day >= self.start else None,
            "actual_end": self.end.isoformat() if ended else None,
            "budget": _money(self.budget),
            "financing": {code: _money(amount) for code, amount in self.financing.items()},
            "outputs": self.outputs_at(day, progress),
            "milestones": self.milestones(day),
            "as_of": day.isoformat(),
            "progress": f"{reported:.2f}",
            "committed": _money(committed),
            "paid": _money(paid),
        }

    def withdrawal(self) -> dict:
        return {
            "operator": self.operator,
            "operator_ref": self.ref,
            "withdrawn": True,
            "reason": self.withdrawal_reason,
        }

    def final(self, today: date) -> dict | None:
        """The last record the plan sends by ``today`` (a withdrawal, or the last report)."""
        if self.withdrawal_month is not None:
            return self.withdrawal()
        if not self.months:
            return None
        return self.record(_report_day(self.months[-1], today), self.months[-1])

    def is_withdrawn(self) -> bool:
        return self.withdrawal_month is not None

    # The reports -------------------------------------------------------------------------------------------

    def schedule(self, rng: random.Random, today: date) -> None:
        """The months in which the project reports, up to ``today``: quarterly while in preparation
        and on each change of status, monthly or quarterly during works, and on completion."""
        first = _month_index(self.first)
        last = _month_index(today)
        if self.withdrawn is not None and _month_index(self.withdrawn) <= last:
            self.withdrawal_month = _month_index(self.withdrawn)
            last = self.withdrawal_month - 1
        final_events = [self.cancelled]
        if self.end is not None:
            final_events.append(self.delivered if self.programme in DELIVERED else self.end)
        for event in final_events:
            if event is not None and event <= today:
                last = min(last, _month_index(event))
        months = set()
        start = _month_index(self.start)
        months.update(range(first, min(last, start - 1) + 1, 3))
        step = 3 if self.quarterly else 1
        months.update(
            m for m in range(start, last + 1) if (m % 3 == 2 if m < MONTHLY_FROM else (m - start) % step == 0)
        )
        for event in (self.sign, self.etud, self.ao, self.start, self.end, self.delivered, self.stall_at):
            if event is not None and first <= _month_index(event) <= last:
                months.add(_month_index(event))
        if self.stall_at is not None and self.stall_days is not None:
            resumed = _month_index(self.stall_at + timedelta(days=self.stall_days))
            if first <= resumed <= last:
                months.add(resumed)
        for event in (self.cancelled, self.end, self.delivered):
            if event is not None and event <= today and first <= _month_index(event) <= last:
                months.add(_month_index(event))
        self.months = sorted(m for m in months if first <= m <= last)
        if self.regression is not None:
            candidates = [
                m
                for m in self.months[1:]
                if Decimal(15) < self.progress(_report_day(m, today)) < Decimal(85)
                and not self.stalled_on(_report_day(m, today))
            ]
            self.regression_month = candidates[rng.randrange(len(candidates))] if candidates else None
            if self.regression_month is None:
                self.regression = None
        else:
            rng.random()


def _report_day(month: int, today: date) -> date:
    return min(_month_end(month), today)


class Planner:
    """Draws the plans of a demo dataset: the seed facts, the Casablanca-Settat and southern Al Omrane
    portfolios, and generic projects across the 12 regions, in a fixed order."""

    def __init__(self, *, projects: int, seed: int, today: date, sites: Sites, organisations: set[str]):
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
        self.total = projects
        self.today = today
        self.sites = sites
        self.organisations = organisations
        self.sequence: Counter[str] = Counter()
        self.new_town_tranches: Counter[str] = Counter()

    # Drawing helpers --------------------------------------------------------------------------------------

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.rng.random()

    def choice(self, items: Sequence):
        return items[self.rng.randrange(len(items))]

    def weighted(self, weights: Sequence[tuple[str, float]]) -> str:
        total = sum(w for _item, w in weights)
        point = self.rng.random() * total
        for item, weight in weights:
            point -= weight
            if point < 0:
                return item
        return weights[-1][0]

    def month_in(self, low: int, high: int) -> int:
        """A month index in [low, high], more likely recent (density rising linearly ×4)."""
        t = (-1 + math.sqrt(1 + 15 * self.rng.random())) / 3
        return min(high, low + int(t * (high - low + 1)))

    def year_window(self, programme: str) -> tuple[int, int] | None:
        """Months in which the programme's projects may start, up to 10 months after today."""
        first_year, last_year = PROGRAMME_YEARS.get(programme, (FIRST_YEAR + 1, 2100))
        low = max(first_year, FIRST_YEAR + 1) * 12
        high = min(last_year * 12 + 11, _month_index(self.today) + 10)
        return (low, high) if low <= high else None

    def reference(self, operator: str, programme: str) -> str:
        short = operator.rsplit("-", 1)[-1] if operator.startswith("MA-ALOMRANE-") else operator[3:]
        self.sequence[operator] += 1
        return f"{short}-{programme}-{self.sequence[operator]:05d}"

    def budget(self, programme: str) -> int:
        low, high = BUDGET_RANGES[programme]
        u = self.rng.random()
        return (low + int((high - low) * u * u * u)) // 1000 * 1000

    # One plan ----------------------------------------------------------------------------------------------

    def plan(
        self,
        *,
        programme: str,
        site: Site,
        operator: str,
        portfolio: str,
        planned_start: date,
        budget: int | None = None,
        protected: bool = False,
        ref: str | None = None,
        title: tuple[str, str] | None = None,
        area: Decimal | None = None,
        financing: dict[str, int] | None = None,
        overrides: dict | None = None,
        behaviour: str | None = None,
        flags: frozenset[str] = frozenset(),
    ) -> Plan:
        """One project's plan. Generic projects get their ``behaviour`` (cancelled, withdrawn, stalled,
        late or normal) and ``flags`` (over_budget, mismatch, regression) from quotas; the seed facts'
        portfolios (``protected``) are never cancelled, withdrawn, mis-financed or corrected, but may be
        late, stalled or over budget."""
        rng = self.rng
        budget = budget if budget is not None else self.budget(programme)
        fr, ar = title or self.title(programme, site)
        if area is None and programme in AREAS_HA:
            low, high = AREAS_HA[programme]
            area = _dec(self.uniform(low, high), 1).normalize()
        # The jitter is drawn even without a boundary point, so that the plans never depend on them.
        jitter = (Decimal(rng.randrange(-2000, 2001)) / 100000, Decimal(rng.randrange(-2000, 2001)) / 100000)
        location = None
        if site.lat is not None and site.lon is not None:
            lat = min(max(site.lat + jitter[0], Decimal("20.5")), Decimal("36"))
            lon = min(max(site.lon + jitter[1], Decimal("-17.2")), Decimal("-1"))
            location = {"lat": _number(lat), "lon": _number(lon)}
        communes = {site.code: {"primary": True, "share": None}}
        if programme in ("PRDTS", "PDP") and rng.random() < 0.1:
            others = [s for s in self.sites.rural_by_province.get(site.province, []) if s.code != site.code]
            if others:
                other = self.choice(others)
                communes = {
                    site.code: {"primary": True, "share": "60.00"},
                    other.code: {"primary": False, "share": "40.00"},
                }
        # Timeline.
        lead_low, lead_high = (6, 24) if programme in ("VN", "PU") else (3, 15)
        lead = int(self.uniform(lead_low, lead_high) * 30.44)
        first = planned_start - timedelta(days=lead)
        if first > self.today:
            first = self.today - timedelta(days=rng.randrange(0, 60))
        first = max(first, date(FIRST_YEAR, 1, 3))
        planned_months = int(self.uniform(*DURATIONS[programme]))
        planned_end = _month_end(_month_index(planned_start) + planned_months - 1)
        draw = rng.random()
        if behaviour is None:
            behaviour = "stalled" if draw < P_STALLED else "late" if draw < P_STALLED + P_LATE else "normal"
        delay = int(self.uniform(60, 270) if behaviour == "late" else self.uniform(0, 60))
        factor = self.uniform(1.3, 2.0) if behaviour == "late" else self.uniform(0.9, 1.15)
        start = planned_start + timedelta(days=delay)
        works_days = max(60, int((planned_end - planned_start).days * factor))
        prep = (start - first).days
        planned_prep = (planned_start - first).days
        fractions = [
            self.uniform(0.05, 0.25),
            self.uniform(0.1, 0.3),
            self.uniform(0.4, 0.7),
            self.uniform(0.5, 0.85),
        ]
        sign = _days(first, prep * fractions[0])
        etud = _days(sign, (start - sign).days * fractions[1])
        ao = _days(etud, (start - etud).days * fractions[2])
        attr = _days(ao, (start - ao).days * fractions[3])
        planned_sign = _days(first, planned_prep * fractions[0])
        planned_ao = _days(
            planned_sign, (planned_start - planned_sign).days * (fractions[1] + fractions[2]) / 1.6
        )
        planned_attr = _days(planned_ao, (planned_start - planned_ao).days * fractions[3])
        k = _dec(self.uniform(7, 10), 2)
        over_budget = rng.random() < P_OVER_BUDGET if protected else "over_budget" in flags
        final_share = self.uniform(1.04, 1.25) if over_budget else self.uniform(0.93, 1.0)
        plan = Plan(
            operator=operator,
            ref=ref or self.reference(operator, programme),
            programme=programme,
            site=site,
            portfolio=portfolio,
            communes=communes,
            title={"fr": fr, "ar": ar},
            description={"fr": "", "ar": ""},
            budget=budget,
            financing={},
            area=area,
            location=location,
            outputs=[],
            first=first,
            planned_start=planned_start,
            planned_end=planned_end,
            start=start,
            works_days=works_days,
            sign=sign,
            etud=etud,
            ao=ao,
            attr=attr,
            planned_sign=planned_sign,
            planned_ao=planned_ao,
            planned_attr=planned_attr,
            k=k,
            study_share=_dec(self.uniform(0.01, 0.04)),
            award_share=_dec(self.uniform(0.55, 0.85)),
            final_share=_dec(final_share),
            pay_ratio=_dec(self.uniform(0.8, 0.95)),
            quarterly=rng.random() < P_QUARTERLY,
            published=portfolio == "seed" or rng.random() < P_PUBLISHED,
            link_agreement=rng.random() < (0.9 if programme in ("PDR", "PRDTS") else 0.6),
            behaviour=behaviour,
            over_budget=over_budget,
        )
        plan._s0 = _sigmoid(-k * HALF)
        plan._s1 = _sigmoid(k * HALF)
        # Behaviours.
        stall_share = self.uniform(0.15, 0.7)
        stall_days = int(self.uniform(120, 420))
        ongoing = rng.random() < 0.5
        plan.stall_status = "SUSP" if rng.random() < 0.3 else "DIFF"
        cancel_share = self.uniform(0.2, 0.8)
        cancel_in_works = rng.random() < 0.3
        cancel_after = int(self.uniform(180, 360))
        if behaviour == "cancelled" and cancel_in_works:
            behaviour = "stalled"
            ongoing = True
        if behaviour == "stalled":
            plan.stall_at = _days(start, works_days * stall_share)
            plan.stall_days = None if ongoing else stall_days
        if plan.behaviour == "cancelled":
            if cancel_in_works:
                plan.cancelled = plan.stall_at + timedelta(days=cancel_after)
            else:
                plan.cancelled = _days(etud, (start - etud).days * cancel_share)
        withdraw_after = int(self.uniform(1.2, 6.5) * 30.44)
        if plan.behaviour == "withdrawn":
            plan.withdrawn = first + timedelta(days=withdraw_after)
            plan.withdrawal_reason = self.choice(WITHDRAWAL_REASONS)
        if plan.cancelled is None and (plan.stall_at is None or plan.stall_days is not None):
            plan.end = start + timedelta(days=works_days + (plan.stall_days or 0))
        delivery_lag = int(self.uniform(30, 180))
        if plan.end is not None and programme in DELIVERED:
            plan.delivered = plan.end + timedelta(days=delivery_lag)
        plan.mismatch = not protected and "mismatch" in flags
        regression = self.uniform(2, 8)
        if not protected and "regression" in flags:
            plan.regression = _dec(regression, 2)
        # Money and outputs.
        plan.financing = financing or self.financing(plan)
        plan.outputs = self.outputs(plan)
        plan.description = self.description(plan)
        for name, value in (overrides or {}).items():
            setattr(plan, name, value)
        plan.schedule(rng, self.today)
        return plan

    def title(self, programme: str, site: Site) -> tuple[str, str]:
        fr, ar = self.choice(TITLES[programme])
        names = (
            ESTATES
            if programme in ("LS250", "LFVIT140", "PU")
            else DOUARS
            if programme == "PRDTS"
            else QUARTERS
        )
        name_fr, name_ar = self.choice(names)
        if programme == "PU":
            name_fr = name_fr.removeprefix("Résidence ")
            name_ar = name_ar.removeprefix("إقامة ")
        values = {
            "c": site.name_fr,
            "ca": site.name_ar,
            "bc": ("بجماعة " + site.name_ar) if site.rural else _bi(site.name_ar),
            "lc": _li(site.name_ar),
            "q": name_fr,
            "qa": name_ar,
            "bq": _bi(name_ar),
        }
        return fr.format(**values), ar.format(**values)

    def financing(self, plan: Plan) -> dict[str, int]:
        site = plan.site
        parts: list[tuple[str, float]] = []
        for token, low, high in FINANCING[plan.programme]:
            share = self.uniform(low, high)
            code = {
                "OP": plan.operator if plan.operator.startswith("MA-ALOMRANE") else None,
                "CR": f"MA-CR-{site.region}",
                "CC": f"MA-CC-{site.code}",
                "CP": f"MA-CP-{site.province}",
            }.get(token, token)
            if code is not None and code in self.organisations:
                parts.append((code, share))
        total = sum(share for _code, share in parts)
        amounts: dict[str, int] = {}
        remaining = plan.budget
        for code, share in parts[:-1]:
            amount = int(plan.budget * share / total) // 1000 * 1000
            amounts[code] = amount
            remaining -= amount
        amounts[parts[-1][0]] = remaining
        extra = int(plan.budget * self.uniform(0.02, 0.08)) // 1000 * 1000
        if plan.mismatch:
            largest = max(sorted(amounts), key=lambda code: amounts[code])
            amounts[largest] += extra
        return dict(sorted(amounts.items()))

    def outputs(self, plan: Plan) -> list[tuple[str, Decimal, str]]:
        found: dict[str, Decimal] = {}
        result = []
        for code, rule, curve in OUTPUTS[plan.programme]:
            kind, _, rest = rule.partition(":")
            if kind == "budget":
                low, high = (float(v) for v in rest.split(":"))
                value = Decimal(max(1, int(plan.budget / self.uniform(low, high))))
            elif kind == "same":
                value = found[rest]
            elif kind == "lots":
                low, high = (float(v) for v in rest.split(":"))
                value = (plan.area * _dec(self.uniform(low, high), 2)).quantize(
                    Decimal(1), rounding=ROUND_FLOOR
                )
            else:
                value = plan.area
            found[code] = value
            result.append((code, value, curve))
        return result

    def description(self, plan: Plan) -> dict:
        for code, value, _curve in plan.outputs:
            if code in DESCRIPTIONS:
                fr, ar = DESCRIPTIONS[code]
                shown = _number(value)
                return {"fr": fr.format(n=shown), "ar": ar.format(n=shown)}
        return {"fr": "", "ar": ""}

    def planned_start_in(self, low: int, high: int) -> date:
        month = self.month_in(low, high)
        return _month_start(month)

    # The dataset -------------------------------------------------------------------------------------------

    def plans(self) -> list[Plan]:
        plans = self.seed_facts()
        plans += self.casablanca_settat()
        plans += self.south()
        generic = self.total - len(plans)
        if generic < 0:
            raise DemoDataError(
                f"{self.total} projets ne suffisent pas pour les faits de référence ({len(plans)} projets) : "
                "demandez-en davantage."
            )
        plans += self.generic(generic)
        return plans

    def seed_facts(self) -> list[Plan]:
        sites = self.sites.by_code
        dakhla = self.plan(
            programme="PU",
            site=sites["12.391.01.01"],
            operator="MA-ALOMRANE-DOE",
            portfolio="seed",
            planned_start=date(2024, 1, 1),
            budget=1_500 * M,
            protected=True,
            ref="DOE-PU-DAKHLA",
            title=("Pôle urbain de Dakhla (ville intelligente)", "القطب الحضري للداخلة (المدينة الذكية)"),
            area=Decimal(275),
            financing={"MA-ALOMRANE-DOE": 900 * M, "MA-GIE-DAKHLA-SC": 600 * M},
            overrides={"agreement": "CONV-PPP-DAKHLA-2019", "link_agreement": False},
        )
        self.retime(
            dakhla,
            first=date(2019, 3, 15),
            sign=date(2019, 5, 10),
            planned_end=date(2030, 12, 31),
            start=date(2024, 3, 1),
            works_days=int((date(2030, 12, 31) - date(2024, 1, 1)).days * 1.05),
            quarterly=False,
        )
        lakhyayta = self.plan(
            programme="VN",
            site=sites["06.117.09.25"],
            operator="MA-ALOMRANE-CS",
            portfolio="seed",
            planned_start=date(2014, 1, 1),
            budget=4_200 * M,
            protected=True,
            ref="CS-VN-LAKHYAYTA",
            title=("Ville nouvelle de Lakhyayta", "المدينة الجديدة الخيايطة"),
            area=Decimal(1000),
            financing={
                "MA-ALOMRANE-CS": 2_700 * M,
                "MA-CDG": 450 * M,
                "MA-CR-06": 250 * M,
                "MA-MATNUHPV": 800 * M,
            },
            overrides={"agreement": "CONV-VN-LAKHYAYTA-2013", "link_agreement": False},
        )
        self.retime(
            lakhyayta,
            first=date(2012, 10, 1),
            sign=date(2013, 2, 14),
            planned_end=date(2030, 12, 31),
            start=date(2014, 6, 1),
            works_days=int((date(2030, 12, 31) - date(2014, 1, 1)).days * 1.1),
            quarterly=True,
        )
        return [dakhla, lakhyayta]

    def retime(self, plan: Plan, *, first, sign, planned_end, start, works_days, quarterly) -> None:
        """Pin a seed fact's dates (normal behaviour, no stall, reported from ``first``)."""
        plan.first, plan.sign, plan.planned_sign = first, sign, sign
        plan.planned_end, plan.start, plan.works_days = planned_end, start, works_days
        plan.etud = _days(sign, (start - sign).days * 0.2)
        plan.ao = _days(plan.etud, (start - plan.etud).days * 0.6)
        plan.attr = _days(plan.ao, (start - plan.ao).days * 0.7)
        plan.planned_ao = _days(sign, (plan.planned_start - sign).days * 0.6)
        plan.planned_attr = _days(plan.planned_ao, (plan.planned_start - plan.planned_ao).days * 0.7)
        plan.behaviour, plan.stall_at, plan.stall_days, plan.cancelled, plan.withdrawn = (
            "normal",
            None,
            None,
            None,
            None,
        )
        plan.end = start + timedelta(days=works_days)
        plan.delivered = None
        plan.over_budget, plan.final_share = False, Decimal("0.97")
        plan.quarterly = quarterly
        plan.regression = None
        plan.outputs = self.outputs(plan)
        plan.description = self.description(plan)
        plan.schedule(self.rng, self.today)

    def fill(self, target: int, count: int, programmes: list[tuple[str, float]]) -> list[tuple[str, int]]:
        """Projects whose budgets add up to ``target`` ± 3 %, about ``count`` of them."""
        mean = target / count
        items: list[tuple[str, int]] = []
        total = 0
        while True:
            cap = target * 1.03 - total
            candidates = [
                (
                    code,
                    weight
                    * (
                        1.0
                        if BUDGET_RANGES[code][0] <= mean * 3 and BUDGET_RANGES[code][1] >= mean / 3
                        else 0.05
                    ),
                )
                for code, weight in programmes
                if BUDGET_RANGES[code][0] <= cap
            ]
            if not candidates:
                break
            code = self.weighted(candidates)
            low, high = BUDGET_RANGES[code]
            budget = mean * (0.4 + 1.2 * self.rng.random())
            budget = int(min(max(budget, low), min(high, cap))) // 1000 * 1000
            items.append((code, budget))
            total += budget
            if total >= target * 0.97:
                break
        return items

    def casablanca_settat(self) -> list[Plan]:
        """Al Omrane Casablanca-Settat: about 500 million MAD of new projects a year."""
        per_year = min(25, max(1, round(self.total * 0.06 / len(CS_YEARS))))
        plans = []
        for year in CS_YEARS:
            if year * 12 > _month_index(self.today) + 10:
                break
            target = int(CS_YEARLY_BUDGET * self.uniform(0.93, 1.07))
            programmes = [
                (code, weight)
                for code, weight in (
                    ("VSB", 3),
                    ("RQSE", 2),
                    ("HMR", 2),
                    ("MANU", 2),
                    ("LS250", 2),
                    ("LFVIT140", 1),
                    ("PU", 1),
                    ("ZAE", 1),
                    ("CE", 1),
                    ("PRDTS", 1),
                    ("PDR", 1),
                )
                if PROGRAMME_YEARS.get(code, (0, 9999))[0] <= year <= PROGRAMME_YEARS.get(code, (0, 9999))[1]
            ]
            for programme, budget in self.fill(target, per_year, programmes):
                site = self.sites.pick(self.rng, programme, ("06",))
                month = year * 12 + self.rng.randrange(12)
                plans.append(
                    self.plan(
                        programme=programme,
                        site=site,
                        operator="MA-ALOMRANE-CS",
                        portfolio="cs",
                        planned_start=_month_start(month),
                        budget=budget,
                        protected=True,
                    )
                )
        return plans

    def south(self) -> list[Plan]:
        """Al Omrane in the southern provinces: over 7 billion MAD with the Dakhla urban pole."""
        count = min(150, max(4, round(self.total * 0.03)))
        programmes = [
            ("VSB", 2),
            ("HMR", 1),
            ("RQSE", 2),
            ("MANU", 3),
            ("LS250", 1),
            ("LFVIT140", 1),
            ("PU", 1),
            ("ZAE", 1),
            ("CE", 1),
            ("PRDTS", 0.5),
            ("PDR", 1),
        ]
        plans = []
        for programme, budget in self.fill(SOUTH_TOTAL - 1_500 * M, count, programmes):
            region = self.weighted([("10", 0.35), ("11", 0.4), ("12", 0.25)])
            site = self.sites.pick(self.rng, programme, (region,))
            window = self.year_window(programme) or (2012 * 12, _month_index(self.today))
            plans.append(
                self.plan(
                    programme=programme,
                    site=site,
                    operator=REGION_SUBSIDIARY[site.region],
                    portfolio="south",
                    planned_start=self.planned_start_in(*window),
                    budget=budget,
                    protected=True,
                )
            )
        return plans

    def quotas(self, count: int) -> tuple[list[str], list[frozenset[str]]]:
        """Behaviours and flags of ``count`` generic projects: exact shares (at least two of each rare
        case, so that small datasets show them all), on positions drawn at random."""
        behaviours = ["normal"] * count
        positions = list(range(count))
        self.rng.shuffle(positions)
        taken = 0
        for name, share, minimum in (
            ("cancelled", P_CANCELLED, 2),
            ("withdrawn", P_WITHDRAWN, 2),
            ("stalled", P_STALLED, 2),
            ("late", P_LATE, 0),
        ):
            size = max(minimum, round(share * count))
            for index in positions[taken : taken + size]:
                behaviours[index] = name
            taken += size
        flags: list[set[str]] = [set() for _ in range(count)]
        for name, share in (
            ("over_budget", P_OVER_BUDGET),
            ("mismatch", P_MISMATCH),
            ("regression", P_REGRESSION),
        ):
            chosen = list(range(count))
            self.rng.shuffle(chosen)
            for index in chosen[: max(2, round(share * count))]:
                flags[index].add(name)
        return behaviours, [frozenset(f) for f in flags]

    def generic(self, count: int) -> list[Plan]:
        weights = [(code, w) for code, w in PROGRAMME_WEIGHTS.items() if self.year_window(code) is not None]
        behaviours, flags = self.quotas(count)
        plans = []
        for number in range(count):
            programme = self.weighted(weights)
            window = self.year_window(programme)
            planned_start = self.planned_start_in(*window)
            title = None
            if programme == "VN":
                code, town_fr, town_ar, operator = self.choice(NEW_TOWNS)
                site = self.sites.by_code[code]
                self.new_town_tranches[town_fr] += 1
                tranche = self.new_town_tranches[town_fr]
                title = (
                    f"Ville nouvelle de {town_fr} — tranche {tranche}",
                    f"المدينة الجديدة {town_ar} — الشطر {tranche}",
                )
            elif programme in HOUSING:
                site = self.sites.pick(self.rng, programme, PORTFOLIO_REGIONS, exclude=True)
                operator = REGION_SUBSIDIARY[site.region]
            else:
                site = self.sites.pick(self.rng, programme)
                share = AL_OMRANE_SHARE.get(programme, 0.0)
                al_omrane = self.rng.random() < share and site.region not in PORTFOLIO_REGIONS
                operator = REGION_SUBSIDIARY[site.region] if al_omrane else agency_code(site.region)
            plans.append(
                self.plan(
                    programme=programme,
                    site=site,
                    operator=operator,
                    portfolio="generic",
                    planned_start=planned_start,
                    title=title,
                    behaviour=behaviours[number],
                    flags=flags[number],
                )
            )
        return plans


# --- Agreements ---------------------------------------------------------------------------------------------

AGREEMENT_FAMILIES = {
    "VSB": "HAB",
    "HMR": "HAB",
    "RQSE": "HAB",
    "LS250": "HAB",
    "LFVIT140": "HAB",
    "MANU": "URB",
    "CE": "URB",
    "PU": "URB",
    "ZAE": "URB",
    "PDR": "PDR",
    "PRDTS": "PRDTS",
}
AGREEMENT_TITLES = {
    "HAB": (
        "Convention-cadre de résorption de l'habitat insalubre — {r}",
        "اتفاقية إطار لمحاربة السكن غير اللائق — جهة {ra}",
        "MA-MATNUHPV",
    ),
    "URB": (
        "Convention de mise à niveau et de développement urbain — {r}",
        "اتفاقية التأهيل والتنمية الحضرية — جهة {ra}",
        "MA-MATNUHPV",
    ),
    "PDR": (
        "Convention de partenariat pour la mise en œuvre du PDR 2022-2027 — {r}",
        "اتفاقية شراكة لتنفيذ برنامج التنمية الجهوية 2022-2027 — جهة {ra}",
        "MA-MI",
    ),
    "PRDTS": (
        "Convention régionale du programme de réduction des disparités territoriales et sociales — {r}",
        "الاتفاقية الجهوية لبرنامج تقليص الفوارق المجالية والاجتماعية — جهة {ra}",
        "MA-MI",
    ),
}


@dataclass
class AgreementPlan:
    reference: str
    title_fr: str
    title_ar: str
    signed_on: date
    parties: list[tuple[str, str, int | None]]  # organisation, role, commitment


def _role_of(plan: Plan) -> str:
    from .choices import PartyRole

    if plan.operator.startswith("MA-ALOMRANE") and plan.programme in HOUSING:
        return PartyRole.CONTRACTING_AUTHORITY
    return PartyRole.DELEGATED_CONTRACTING_AUTHORITY


def plan_agreements(
    plans: list[Plan], regions: dict[str, tuple[str, str]], today: date
) -> list[AgreementPlan]:
    """Regional framework agreements (habitat, urban development, PDR, PRDTS) linking the projects that
    drew a link, signed on the first of their conventions' dates; and the seed facts' two agreements."""
    from .choices import PartyRole

    groups: dict[tuple[str, str], list[Plan]] = defaultdict(list)
    for plan in plans:
        family = AGREEMENT_FAMILIES.get(plan.programme)
        if plan.agreement is None and plan.link_agreement and family and plan.sign <= today:
            groups[(family, plan.site.region)].append(plan)
    agreements = []
    for (family, region), members in sorted(groups.items()):
        signed = min(plan.sign for plan in members)
        reference = f"CONV-{family}-{region}-{signed.year}"
        fr, ar, ministry = AGREEMENT_TITLES[family]
        name_fr, name_ar = regions[region]
        for plan in members:
            plan.agreement = reference
        commitments: dict[str, int] = defaultdict(int)
        operators: dict[str, str] = {}
        for plan in members:
            operators.setdefault(plan.operator, _role_of(plan))
            for code, amount in plan.financing.items():
                commitments[code] += amount
        parties: list[tuple[str, str, int | None]] = [
            (ministry, PartyRole.SIGNATORY, None),
            (f"MA-CR-{region}", PartyRole.SIGNATORY, None),
        ]
        parties += [(code, role, None) for code, role in sorted(operators.items())]
        parties += [(code, PartyRole.FINANCIER, amount) for code, amount in sorted(commitments.items())]
        agreements.append(
            AgreementPlan(reference, fr.format(r=name_fr), ar.format(ra=name_ar), signed, parties)
        )
    agreements.append(
        AgreementPlan(
            "CONV-PPP-DAKHLA-2019",
            "Convention de partenariat public-privé pour la réalisation du pôle urbain de Dakhla",
            "اتفاقية شراكة بين القطاعين العام والخاص لإنجاز القطب الحضري للداخلة",
            date(2019, 5, 10),
            [
                ("MA-GIE-DAKHLA-SC", PartyRole.SIGNATORY, None),
                ("MA-ALOMRANE-DOE", PartyRole.SIGNATORY, None),
                ("MA-CR-12", PartyRole.SIGNATORY, None),
                ("MA-ALOMRANE-DOE", PartyRole.CONTRACTING_AUTHORITY, None),
                ("MA-ALOMRANE-DOE", PartyRole.FINANCIER, 900 * M),
                ("MA-GIE-DAKHLA-SC", PartyRole.FINANCIER, 600 * M),
            ],
        )
    )
    agreements.append(
        AgreementPlan(
            "CONV-VN-LAKHYAYTA-2013",
            "Convention de réalisation de la ville nouvelle de Lakhyayta",
            "اتفاقية إنجاز المدينة الجديدة الخيايطة",
            date(2013, 2, 14),
            [
                ("MA-MATNUHPV", PartyRole.SIGNATORY, None),
                ("MA-CR-06", PartyRole.SIGNATORY, None),
                ("MA-ALOMRANE-CS", PartyRole.SIGNATORY, None),
                ("MA-ALOMRANE-CS", PartyRole.CONTRACTING_AUTHORITY, None),
                ("MA-ALOMRANE-CS", PartyRole.FINANCIER, 2_700 * M),
                ("MA-MATNUHPV", PartyRole.FINANCIER, 800 * M),
                ("MA-CDG", PartyRole.FINANCIER, 450 * M),
                ("MA-CR-06", PartyRole.FINANCIER, 250 * M),
            ],
        )
    )
    return agreements


# --- Generation ---------------------------------------------------------------------------------------------

Progress = Callable[[str, int], Callable[[int], None]]


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class DemoSummary:
    projects: int = 0
    agreements_created: int = 0
    agencies_created: int = 0
    months: int = 0
    records: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_programme: Counter = field(default_factory=Counter)
    by_region: Counter = field(default_factory=Counter)
    by_status: Counter = field(default_factory=Counter)
    versions: int = 0
    published: int = 0
    users_created: int = 0
    seconds: float = 0.0


def check_ready() -> None:
    """Raise DemoDataError unless the territories, organisations and reference catalogue are loaded."""
    from marsad.accounts.models import Organisation
    from marsad.territories.models import HouseholdCensus, Territory

    from .models import Programme, Status

    if not Territory.objects.filter(level="commune").exists() or not HouseholdCensus.objects.exists():
        raise DemoDataError("Territoires absents : lancez d'abord « marsad territories_load ».")
    missing = [code for code in sorted(set(REGION_SUBSIDIARY.values())) if code]
    known = set(Organisation.objects.filter(code__in=missing).values_list("code", flat=True))
    if set(missing) - known or not Programme.objects.exists() or not Status.objects.exists():
        raise DemoDataError("Référentiel absent : lancez d'abord « marsad reference_load ».")


def build_plans(
    *, projects: int = DEFAULT_PROJECTS, seed: int = DEFAULT_SEED, today: date = DEMO_TODAY
) -> list[Plan]:
    """The plans of a dataset (no writes): what ``demo_generate`` would send, for tests and benches."""
    from marsad.accounts.models import Organisation

    organisations = set(Organisation.objects.values_list("code", flat=True))
    organisations |= {agency_code(region) for region in REGION_SUBSIDIARY}
    planner = Planner(projects=projects, seed=seed, today=today, sites=Sites(), organisations=organisations)
    with localcontext(DECIMALS):
        return planner.plans()


def _agencies_create(actor) -> int:
    """The regions' project agencies (operators of the programmes Al Omrane does not carry out)."""
    from marsad.accounts.models import Organisation
    from marsad.accounts.services import organisation_save
    from marsad.territories.models import Territory

    created = 0
    regions = {t.code: t for t in Territory.objects.filter(level="region")}
    councils = {o.code: o for o in Organisation.objects.filter(code__startswith="MA-CR-")}
    existing = set(Organisation.objects.filter(code__startswith="MA-AREP-").values_list("code", flat=True))
    for code in sorted(regions):
        region = regions[code]
        if agency_code(code) in existing:
            continue
        organisation_save(
            actor=actor,
            code=agency_code(code),
            kind=OrganisationKind.OPERATOR,
            name_fr=f"Agence régionale d'exécution des projets — {region.name_fr}",
            name_ar=f"الوكالة الجهوية لتنفيذ المشاريع — جهة {region.name_ar}",
            acronym=f"AREP {code}",
            parent=councils.get(f"MA-CR-{code}"),
            territory=region,
        )
        created += 1
    return created


def _agreements_create(actor, agreements: list[AgreementPlan]) -> int:
    from .models import Agreement
    from .services import PartyInput, agreement_create

    existing = set(
        Agreement.objects.filter(reference__in=[a.reference for a in agreements]).values_list(
            "reference", flat=True
        )
    )
    created = 0
    for agreement in agreements:
        if agreement.reference in existing:
            continue
        agreement_create(
            actor=actor,
            reference=agreement.reference,
            title_fr=agreement.title_fr,
            title_ar=agreement.title_ar,
            signed_on=agreement.signed_on,
            parties=[
                PartyInput(code, role, None if amount is None else Decimal(amount))
                for code, role, amount in agreement.parties
            ],
        )
        created += 1
    return created


def demo_generate(
    *,
    projects: int = DEFAULT_PROJECTS,
    seed: int = DEFAULT_SEED,
    today: date = DEMO_TODAY,
    users: bool = True,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> DemoSummary:
    """Generate (or bring up to date) the demo dataset and return what was done.

    Creates the regions' project agencies and the agreements, replays every project's reports month by
    month through ``records_apply`` (source "demo", one transaction per batch), publishes the chosen
    projects and creates the demo users. Idempotent for a given seed, size and today: a project that
    already exists is sent only its final record ("unchanged"), so a second run writes nothing and an
    interrupted run is completed by running it again (its unfinished projects jump to their final
    state). Raises DemoDataError when the territories or the reference data are missing."""
    from marsad.territories.models import Territory

    from .models import Project
    from .rules import Catalogue
    from .services import projects_publish, public_id_for, records_apply

    started = clock.perf_counter()
    progress = progress or _no_progress
    check_ready()
    actor = DemoActor()
    scope = actor.marsad_scope()
    summary = DemoSummary()
    summary.agencies_created = _agencies_create(actor)
    plans = build_plans(projects=projects, seed=seed, today=today)
    regions = {t.code: (t.name_fr, t.name_ar) for t in Territory.objects.filter(level="region")}
    agreements = plan_agreements(plans, regions, today)
    summary.agreements_created = _agreements_create(actor, agreements)
    summary.projects = len(plans)

    operators = sorted({plan.operator for plan in plans})
    existing = {
        (code, ref): withdrawn
        for code, ref, withdrawn in Project.objects.filter(operator__code__in=operators).values_list(
            "operator__code", "operator_ref", "withdrawn"
        )
    }
    buckets: dict[int, list[Plan]] = defaultdict(list)
    finals: list[dict] = []
    for plan in plans:
        key = (plan.operator, plan.ref)
        if key in existing:
            if existing[key]:
                summary.outcomes["unchanged"] += 1
            else:
                with localcontext(DECIMALS):
                    final = plan.final(today)
                if final is not None:
                    finals.append(final)
            continue
        for month in plan.months:
            buckets[month].append(plan)
        if plan.withdrawal_month is not None:
            buckets[plan.withdrawal_month].append(plan)
    summary.records = sum(len(v) for v in buckets.values()) + len(finals)
    advance = progress("Versions", summary.records)
    catalogue = Catalogue.load(today=today)
    zone = ZoneInfo(settings.TIME_ZONE)

    def send(records: list[dict], day: date, label: str) -> None:
        catalogue.today = day
        received = datetime.combine(day, time(20, 0), tzinfo=zone)
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            batch = records_apply(
                actor=actor,
                records=chunk,
                source_kind="demo",
                source_id=f"demo:{seed}:{label}",
                scope=scope,
                received_at=received,
                catalogue=catalogue,
            )
            rejected = [r for r in batch.results if r.outcome == "rejected"]
            if rejected:
                first = rejected[0]
                problems = "; ".join(f"{i.code} {i.pointer}" for i in first.issues)
                raise DemoDataError(
                    f"Enregistrement de démonstration rejeté ({first.operator_ref}) : {problems}"
                )
            summary.outcomes.update(str(r.outcome) for r in batch.results)
            summary.versions += len(batch.versions)
            advance(len(chunk))

    for month in sorted(buckets):
        day = _report_day(month, today)
        with localcontext(DECIMALS):
            records = [
                plan.withdrawal() if month == plan.withdrawal_month else plan.record(day, month)
                for plan in sorted(buckets[month], key=lambda p: (p.operator, p.ref))
            ]
        send(records, day, _month_start(month).strftime("%Y-%m"))
        summary.months += 1
    if finals:
        send(finals, today, "final")

    # Publication: the chosen share of the projects that are not withdrawn.
    chosen = [public_id_for(p.operator, p.ref) for p in plans if p.published and not p.is_withdrawn()]
    publish = progress("Publication", len(chosen))
    for start in range(0, len(chosen), 500):
        batch_ids = chosen[start : start + 500]
        summary.published += projects_publish(
            actor=actor, projects=list(Project.objects.filter(public_id__in=batch_ids, published=False))
        )
        publish(len(batch_ids))
    for plan in plans:
        summary.by_programme[plan.programme] += 1
        summary.by_region[plan.site.region] += 1
        summary.by_status["withdrawn" if plan.is_withdrawn() else plan.status(today)] += 1
    if users:
        summary.users_created = demo_users_create(actor=actor)
    summary.seconds = clock.perf_counter() - started
    return summary


# --- Demo users ---------------------------------------------------------------------------------------------

# (username, role, territory code, organisation code)
DEMO_USERS = (
    ("admin", Role.ADMINISTRATOR, "", ""),
    ("analyste", Role.NATIONAL_ANALYST, "", ""),
    ("wali.cs", Role.TERRITORIAL_OFFICER, "06", ""),
    ("gouverneur.dakhla", Role.TERRITORIAL_OFFICER, "12.391", ""),
    ("omrane.cs", Role.OPERATOR_STEWARD, "", "MA-ALOMRANE-CS"),
    ("omrane.holding", Role.OPERATOR_STEWARD, "", "MA-ALOMRANE"),
    ("region.cs", Role.PARTNER_VIEWER, "", "MA-CR-06"),
)


@transaction.atomic
def demo_users_create(*, actor=None) -> int:
    """One user per role and typical scope, with the demo password; existing users are left as they
    are (their missing memberships are granted). Returns how many users were created."""
    from marsad.accounts.models import Organisation, User
    from marsad.accounts.services import membership_grant, user_create
    from marsad.audit.services import audit_record
    from marsad.territories.models import Territory

    actor = actor or DemoActor()
    created = 0
    for username, role, territory_code, organisation_code in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            administrator = role == Role.ADMINISTRATOR
            user = user_create(
                actor=actor,
                username=username,
                password=DEMO_PASSWORD,
                first_name="Démo",
                email=f"{username}@demo.marsad.ma",  # high-severity alerts are mailed (var/mail)
                is_staff=administrator,
            )
            if administrator:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
                audit_record(
                    actor=actor,
                    action="user.update",
                    object_type="accounts.user",
                    object_id=str(user.pk),
                    object_label=username,
                    changes={"is_superuser": [False, True]},
                )
            created += 1
        membership_grant(
            actor=actor,
            user=user,
            role=role,
            territory=Territory.objects.get(code=territory_code) if territory_code else None,
            organisation=Organisation.objects.get(code=organisation_code) if organisation_code else None,
        )
    return created


def demo_logins(language: str = "fr") -> list[tuple[str, str, str]]:
    """(username, role, scope) of the demo users in ``language`` (fr or ar), for ``make demo`` to
    print; they all share DEMO_PASSWORD."""
    from marsad.accounts.models import Organisation
    from marsad.territories.models import Territory

    column = "name_ar" if language.startswith("ar") else "name_fr"
    codes = [u[2] for u in DEMO_USERS if u[2]]
    names = dict(Territory.objects.filter(code__in=codes).values_list("code", column))
    codes = [u[3] for u in DEMO_USERS if u[3]]
    organisations = dict(Organisation.objects.filter(code__in=codes).values_list("code", column))
    logins = []
    with translation.override(language):
        for username, role, territory_code, organisation_code in DEMO_USERS:
            if territory_code:
                scope = f"{names.get(territory_code, territory_code)} ({territory_code})"
            elif organisation_code:
                scope = f"{organisations.get(organisation_code, organisation_code)} ({organisation_code})"
                if organisation_code == "MA-ALOMRANE":
                    scope = str(_("%(scope)s, filiales comprises") % {"scope": scope})
            else:
                scope = str(_("National"))
            logins.append((username, str(Role(role).label), scope))
    return logins


def iter_records(plans: Iterable[Plan], today: date = DEMO_TODAY) -> Iterable[tuple[Plan, int, dict]]:
    """Every record the plans send, in sending order within each plan: (plan, month, record)."""
    for plan in plans:
        for month in plan.months:
            with localcontext(DECIMALS):
                record = plan.record(_report_day(month, today), month)
            yield plan, month, record
        if plan.withdrawal_month is not None:
            yield plan, plan.withdrawal_month, plan.withdrawal()
