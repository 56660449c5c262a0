"""A simulated Al Omrane information system: its own SQLite schema, codes and labels, changing over time.

It stands for the operator's side of the exchange in demonstrations and tests. Like a real system it
knows nothing of Marsad: French column names, its own subsidiary codes (``CASA``, ``DAKHLA``…), its own
status codes (``EC`` en cours, ``AC`` achevé…), commune *labels* rather than HCP codes, dates written
``JJ/MM/AAAA``, amounts as floating-point numbers, and a ``date_maj`` column stamped on every change.
The connector's mapping (``examples/alomrane/mapping.yaml``) translates all of it.

``init`` creates the database deterministically (same seed, same rows). ``advance`` moves a simulated
clock forward one step at a time (one day by default): projects go through their statuses, progress
and amounts grow, a few new projects appear, some are cancelled (status ``AN``) and, rarely, one is
deleted (``supprime = 1``, which the mapping turns into a withdrawal). Progress, committed and paid
amounts never decrease. Every row changed in a step gets the step's ``date_maj``, so many rows share a
timestamp, as they do in real batch updates. Dates of facts never pass ``--today`` (the real date by
default), because the platform refuses as-of dates in the future.

    python -m marsad_connect.simulation.alomrane init --db var/alomrane/si.sqlite3 --projects 300 --seed 1
    python -m marsad_connect.simulation.alomrane advance --db var/alomrane/si.sqlite3 --steps 1 --seed 1
    python -m marsad_connect.simulation.alomrane advance --db var/alomrane/si.sqlite3 --every 30s
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 1, 1, 6, 0, 0)  # noqa: DTZ001 - the system's local wall clock, as it stores it
REFERENCE = date(2025, 12, 31)  # the situation date of the initial rows
DATE_FORMAT = "%d/%m/%Y"
STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Subsidiary code → (name, weight). The mapping turns the code into the Marsad organisation code.
FILIALES: dict[str, tuple[str, int]] = {
    "TTA": ("Al Omrane Tanger-Tétouan-Al Hoceima", 10),
    "ORIENTAL": ("Al Omrane Oriental", 7),
    "FES": ("Al Omrane Fès-Meknès", 9),
    "RABAT": ("Al Omrane Rabat-Salé-Kénitra", 12),
    "BENIMELLAL": ("Al Omrane Béni Mellal-Khénifra", 6),
    "CASA": ("Al Omrane Casablanca-Settat", 20),
    "MARRAKECH": ("Al Omrane Marrakech-Safi", 9),
    "DRAA": ("Al Omrane Drâa-Tafilalet", 5),
    "SOUSS": ("Al Omrane Souss-Massa", 7),
    "GUELMIM": ("Al Omrane Guelmim-Oued Noun", 4),
    "LAAYOUNE": ("Al Omrane Laâyoune-Sakia El Hamra", 5),
    "DAKHLA": ("Al Omrane Dakhla-Oued Ed-Dahab", 6),
}

# The system's own commune list: label, Arabic label, subsidiary, centre (lat, lon). No HCP codes here.
COMMUNES: list[tuple[str, str, str, float, float]] = [
    ("Tanger - Bni Makada", "طنجة - بني مكادة", "TTA", 35.7500, -5.7900),
    ("Tanger - Mghogha", "طنجة - مغوغة", "TTA", 35.7400, -5.7600),
    ("Tétouan", "تطوان", "TTA", 35.5780, -5.3680),
    ("Larache", "العرائش", "TTA", 35.1930, -6.1560),
    ("Al Hoceima", "الحسيمة", "TTA", 35.2470, -3.9310),
    ("Oujda", "وجدة", "ORIENTAL", 34.6810, -1.9080),
    ("Nador", "الناضور", "ORIENTAL", 35.1680, -2.9330),
    ("Berkane", "بركان", "ORIENTAL", 34.9200, -2.3200),
    ("Fès - Saiss", "فاس - سايس", "FES", 34.0000, -4.9900),
    ("Fès - Zouagha", "فاس - زواغة", "FES", 34.0400, -5.0300),
    ("Meknès", "مكناس", "FES", 33.8950, -5.5470),
    ("Taza", "تازة", "FES", 34.2140, -4.0090),
    ("Rabat - Yacoub El Mansour", "الرباط - يعقوب المنصور", "RABAT", 33.9900, -6.8800),
    ("Salé - Layayda", "سلا - العيايدة", "RABAT", 34.0600, -6.7600),
    ("Kénitra", "القنيطرة", "RABAT", 34.2610, -6.5800),
    ("Témara", "تمارة", "RABAT", 33.9270, -6.9070),
    ("Béni Mellal", "بني ملال", "BENIMELLAL", 32.3370, -6.3490),
    ("Khouribga", "خريبكة", "BENIMELLAL", 32.8810, -6.9060),
    ("Casablanca - Sidi Moumen", "الدار البيضاء - سيدي مومن", "CASA", 33.5850, -7.5150),
    ("Casablanca - Sidi Bernoussi", "الدار البيضاء - سيدي البرنوصي", "CASA", 33.6100, -7.4950),
    ("Casablanca - Moulay Rachid", "الدار البيضاء - مولاي رشيد", "CASA", 33.5600, -7.5400),
    ("Berrechid", "برشيد", "CASA", 33.2650, -7.5870),
    ("Sahel Oulad H'riz", "الساحل أولاد احريز", "CASA", 33.4300, -7.4500),
    ("El Jadida", "الجديدة", "CASA", 33.2540, -8.5070),
    ("Settat", "سطات", "CASA", 33.0010, -7.6160),
    ("Marrakech - Ménara", "مراكش - المنارة", "MARRAKECH", 31.6100, -8.0400),
    ("Marrakech - Sidi Youssef Ben Ali", "مراكش - سيدي يوسف بن علي", "MARRAKECH", 31.6100, -7.9700),
    ("Safi", "آسفي", "MARRAKECH", 32.3000, -9.2370),
    ("Essaouira", "الصويرة", "MARRAKECH", 31.5130, -9.7700),
    ("Errachidia", "الرشيدية", "DRAA", 31.9310, -4.4240),
    ("Ouarzazate", "ورزازات", "DRAA", 30.9200, -6.8930),
    ("Midelt", "ميدلت", "DRAA", 32.6850, -4.7450),
    ("Agadir", "أكادير", "SOUSS", 30.4200, -9.5980),
    ("Inezgane", "إنزكان", "SOUSS", 30.3550, -9.5360),
    ("Tiznit", "تيزنيت", "SOUSS", 29.6980, -9.7310),
    ("Guelmim", "كلميم", "GUELMIM", 28.9870, -10.0570),
    ("Tan-Tan", "طانطان", "GUELMIM", 28.4380, -11.1030),
    ("Sidi Ifni", "سيدي إفني", "GUELMIM", 29.3790, -10.1730),
    ("Laâyoune", "العيون", "LAAYOUNE", 27.1530, -13.2030),
    ("El Marsa", "المرسى", "LAAYOUNE", 27.1000, -13.4100),
    ("Boujdour", "بوجدور", "LAAYOUNE", 26.1260, -14.4840),
    ("Dakhla", "الداخلة", "DAKHLA", 23.7000, -15.9330),
    ("Bir Anzarane", "بئر أنزران", "DAKHLA", 23.8900, -14.5400),
]

# The system's status codes and what they mean to it.
ETATS = {
    "PR": "Programmé",
    "CV": "Conventionné",
    "ET": "En étude",
    "AP": "Appel d'offres publié",
    "EC": "En cours",
    "BL": "Bloqué",
    "AR": "Arrêté",
    "AC": "Achevé",
    "LV": "Livré",
    "AN": "Annulé",
}
NOT_STARTED = ("PR", "CV", "ET", "AP")
FINAL = ("LV", "AN")

# Programme (Marsad codes) → (weight, budget range in MAD, duration range in months).
M = 1_000_000
PROGRAMMES: dict[str, tuple[int, tuple[int, int], tuple[int, int]]] = {
    "VSB": (25, (20 * M, 400 * M), (24, 60)),
    "HMR": (12, (5 * M, 120 * M), (18, 48)),
    "RQSE": (18, (10 * M, 250 * M), (18, 48)),
    "MANU": (18, (10 * M, 500 * M), (18, 54)),
    "PU": (6, (200 * M, 3000 * M), (48, 120)),
    "VN": (3, (1000 * M, 10000 * M), (60, 144)),
    "ZAE": (8, (20 * M, 400 * M), (24, 60)),
    "CE": (10, (10 * M, 150 * M), (18, 48)),
}
HOUSEHOLDS = {"VSB": (300, 6000), "HMR": (50, 800), "RQSE": (200, 3000)}
AREAS = {"PU": (100.0, 600.0), "VN": (500.0, 2000.0), "ZAE": (20.0, 150.0)}
QUARTIERS = [
    ("Al Amal", "الأمل"),
    ("Al Wifaq", "الوفاق"),
    ("Annasr", "النصر"),
    ("Al Fath", "الفتح"),
    ("Essalam", "السلام"),
    ("Al Massira", "المسيرة"),
    ("Al Qods", "القدس"),
    ("Ennour", "النور"),
    ("Al Matar", "المطار"),
    ("Al Houda", "الهدى"),
]
TITLES = {
    "VSB": ("Résorption du bidonville {q} à {c}", "القضاء على دور الصفيح بحي {qa} ب{ca}"),
    "HMR": (
        "Traitement de l'habitat menaçant ruine, quartier {q}, {c}",
        "معالجة السكن الآيل للسقوط بحي {qa}، {ca}",
    ),
    "RQSE": ("Restructuration du quartier {q}, {c}", "إعادة هيكلة حي {qa}، {ca}"),
    "MANU": ("Mise à niveau urbaine de {c}, secteur {q}", "التأهيل الحضري ل{ca}، قطاع {qa}"),
    "PU": ("Pôle urbain {q} de {c}", "القطب الحضري {qa} ب{ca}"),
    "VN": ("Ville nouvelle de {c}, tranche {n}", "المدينة الجديدة ب{ca}، الشطر {n}"),
    "ZAE": ("Zone d'activités économiques {q}, {c}", "منطقة الأنشطة الاقتصادية {qa}، {ca}"),
    "CE": ("Mise à niveau du centre émergent {q}, {c}", "تأهيل المركز الصاعد {qa}، {ca}"),
}

# Chances per step.
TOUCH = 0.10  # a project has news (per project)
NEW_PROJECT = 0.35  # a new project appears
CANCEL = 0.03  # a project with news that has not started is cancelled
DELETE = 0.005  # a project with news is deleted instead (soft deletion: supprime = 1)

SCHEMA = """
CREATE TABLE parametres (
    cle TEXT PRIMARY KEY,
    valeur TEXT NOT NULL
);
CREATE TABLE filiales (
    code TEXT PRIMARY KEY,
    nom TEXT NOT NULL
);
CREATE TABLE communes (
    libelle TEXT PRIMARY KEY,
    libelle_ar TEXT NOT NULL,
    filiale TEXT NOT NULL REFERENCES filiales (code),
    lat REAL NOT NULL,
    lon REAL NOT NULL
);
CREATE TABLE etats (
    code TEXT PRIMARY KEY,
    libelle TEXT NOT NULL
);
CREATE TABLE operations (
    code_operation TEXT PRIMARY KEY,
    intitule TEXT NOT NULL,
    intitule_ar TEXT,
    filiale TEXT NOT NULL REFERENCES filiales (code),
    programme TEXT NOT NULL,
    etat TEXT NOT NULL REFERENCES etats (code),
    commune TEXT NOT NULL REFERENCES communes (libelle),
    date_convention TEXT,
    date_debut_prevue TEXT,
    date_fin_prevue TEXT,
    date_debut_reelle TEXT,
    date_fin_reelle TEXT,
    cout_global REAL NOT NULL,
    montant_engage REAL NOT NULL DEFAULT 0,
    montant_paye REAL NOT NULL DEFAULT 0,
    taux_avancement REAL NOT NULL DEFAULT 0,
    menages_cibles INTEGER,
    menages_traites INTEGER,
    superficie_ha REAL,
    superficie_cible_ha REAL,
    superficie_amenagee_ha REAL,
    lat REAL,
    lon REAL,
    date_situation TEXT NOT NULL,
    date_maj TEXT NOT NULL,
    supprime INTEGER NOT NULL DEFAULT 0,
    motif_suppression TEXT
);
CREATE INDEX operations_date_maj ON operations (date_maj, code_operation);
CREATE TABLE journal (
    pas INTEGER NOT NULL,
    code_operation TEXT NOT NULL,
    evenement TEXT NOT NULL
);
"""
COLUMNS = (
    "code_operation",
    "intitule",
    "intitule_ar",
    "filiale",
    "programme",
    "etat",
    "commune",
    "date_convention",
    "date_debut_prevue",
    "date_fin_prevue",
    "date_debut_reelle",
    "date_fin_reelle",
    "cout_global",
    "montant_engage",
    "montant_paye",
    "taux_avancement",
    "menages_cibles",
    "menages_traites",
    "superficie_ha",
    "superficie_cible_ha",
    "superficie_amenagee_ha",
    "lat",
    "lon",
    "date_situation",
    "date_maj",
    "supprime",
    "motif_suppression",
)


def fr(day: date | None) -> str | None:
    return None if day is None else day.strftime(DATE_FORMAT)


def from_fr(text: str | None) -> date | None:
    return None if not text else datetime.strptime(text, DATE_FORMAT).date()  # noqa: DTZ007


def weighted(rng: random.Random, table: dict[str, Any], weight: Any) -> str:
    names = list(table)
    return rng.choices(names, weights=[weight(table[name]) for name in names])[0]


@dataclass
class Simulator:
    db: sqlite3.Connection
    today: date

    # --- Parameters ------------------------------------------------------------------------------

    def param(self, name: str) -> str:
        return self.db.execute("SELECT valeur FROM parametres WHERE cle = ?", (name,)).fetchone()[0]

    def set_param(self, name: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO parametres (cle, valeur) VALUES (?, ?)"
            " ON CONFLICT (cle) DO UPDATE SET valeur = excluded.valeur",
            (name, str(value)),
        )

    def next_number(self) -> int:
        number = int(self.param("prochain_numero"))
        self.set_param("prochain_numero", number + 1)
        return number

    # --- Creating projects ---------------------------------------------------------------------------

    def new_project(
        self, rng: random.Random, situation: date, stamp: str, *, started: bool
    ) -> dict[str, Any]:
        """A project as the system holds it; ``started`` lets the initial load include projects in works."""
        filiale = weighted(rng, FILIALES, lambda entry: entry[1])
        label, label_ar, _, lat, lon = rng.choice([c for c in COMMUNES if c[2] == filiale])
        programme = weighted(rng, PROGRAMMES, lambda entry: entry[0])
        _, (low, high), (shortest, longest) = PROGRAMMES[programme]
        number = self.next_number()
        quartier, quartier_ar = rng.choice(QUARTIERS)
        place, place_ar = label.split(" - ")[-1], label_ar.split(" - ")[-1]
        title, title_ar = TITLES[programme]
        values = {"q": quartier, "qa": quartier_ar, "c": place, "ca": place_ar, "n": rng.randint(1, 4)}
        budget = float(int(rng.uniform(low, high) / 1000) * 1000)
        if started:
            start = REFERENCE - timedelta(days=rng.randint(-200, 6 * 365))
        else:
            start = situation + timedelta(days=rng.randint(90, 540))
        end = start + timedelta(days=30 * rng.randint(shortest, longest))
        area = round(rng.uniform(*AREAS.get(programme, (2.0, 60.0))), 1)
        households = HOUSEHOLDS.get(programme)
        row = {
            "code_operation": f"OP-{filiale}-{number:05d}",
            "intitule": title.format(**values),
            "intitule_ar": title_ar.format(**values),
            "filiale": filiale,
            "programme": programme,
            "etat": "PR",
            "commune": label,
            "date_convention": None,
            "date_debut_prevue": fr(start),
            "date_fin_prevue": fr(end),
            "date_debut_reelle": None,
            "date_fin_reelle": None,
            "cout_global": budget,
            "montant_engage": 0.0,
            "montant_paye": 0.0,
            "taux_avancement": 0.0,
            "menages_cibles": rng.randint(*households) if households else None,
            "menages_traites": 0 if households else None,
            "superficie_ha": area,
            "superficie_cible_ha": area if programme in AREAS else None,
            "superficie_amenagee_ha": 0.0 if programme in AREAS else None,
            "lat": round(lat + rng.uniform(-0.02, 0.02), 5),
            "lon": round(lon + rng.uniform(-0.02, 0.02), 5),
            "date_situation": fr(situation),
            "date_maj": stamp,
            "supprime": 0,
            "motif_suppression": None,
        }
        if started:
            self._initial_life(rng, row, start, end)
        return row

    def _initial_life(self, rng: random.Random, row: dict[str, Any], start: date, end: date) -> None:
        """Where a project stands on the reference date, given its planned dates."""
        if start > REFERENCE:
            row["etat"] = rng.choice(NOT_STARTED)
            if row["etat"] != "PR":
                row["date_convention"] = fr(min(REFERENCE, start - timedelta(days=rng.randint(60, 300))))
            if rng.random() < 0.03:
                row["etat"] = "AN"
            return
        row["date_convention"] = fr(start - timedelta(days=rng.randint(60, 300)))
        actual_start = min(REFERENCE, start + timedelta(days=rng.randint(0, 120)))
        row["date_debut_reelle"] = fr(actual_start)
        elapsed = (REFERENCE - actual_start).days / max(1, (end - start).days)
        if elapsed >= 1.05 and rng.random() < 0.7:
            finished = min(REFERENCE, end + timedelta(days=rng.randint(0, 300)))
            row["date_fin_reelle"] = fr(max(finished, actual_start))
            row["etat"] = "LV" if rng.random() < 0.4 else "AC"
            self._progress(rng, row, 100.0)
            return
        row["etat"] = "EC"
        roll = rng.random()
        if roll < 0.05:
            row["etat"] = "BL"
        elif roll < 0.08:
            row["etat"] = "AR"
        self._progress(rng, row, round(max(1.0, min(95.0, 100 * elapsed * rng.uniform(0.5, 1.0))), 1))

    def _progress(self, rng: random.Random, row: dict[str, Any], progress: float) -> None:
        """Progress and what follows it; nothing here ever decreases."""
        budget = row["cout_global"]
        row["taux_avancement"] = max(row["taux_avancement"], progress)
        share = min(1.0, 0.35 + 0.65 * row["taux_avancement"] / 100 * rng.uniform(0.9, 1.05))
        row["montant_engage"] = max(row["montant_engage"], round(budget * share, 2))
        paid = row["montant_engage"] * row["taux_avancement"] / 100 * rng.uniform(0.8, 1.0)
        row["montant_paye"] = max(row["montant_paye"], min(row["montant_engage"], round(paid, 2)))
        if row["menages_cibles"] is not None:
            treated = int(row["menages_cibles"] * max(0.0, row["taux_avancement"] - 20) / 80)
            row["menages_traites"] = max(row["menages_traites"] or 0, treated)
        if row["superficie_amenagee_ha"] is not None:
            developed = round(row["superficie_cible_ha"] * row["taux_avancement"] / 100, 1)
            row["superficie_amenagee_ha"] = max(row["superficie_amenagee_ha"], developed)

    def insert(self, row: dict[str, Any]) -> None:
        placeholders = ", ".join("?" for _ in COLUMNS)
        self.db.execute(
            f"INSERT INTO operations ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - fixed names
            [row[column] for column in COLUMNS],
        )

    # --- Time passing ------------------------------------------------------------------------------

    def step(self, seed: int) -> dict[str, int]:
        """One step of the simulated clock, in one transaction; returns what happened."""
        number = int(self.param("pas")) + 1
        rng = random.Random(f"{seed}:{number}")  # noqa: S311 - a simulation
        clock = datetime.strptime(self.param("horloge"), STAMP_FORMAT)  # noqa: DTZ007 - local wall clock
        clock += timedelta(days=int(self.param("jours")))
        stamp = clock.strftime(STAMP_FORMAT)
        situation = min(clock.date(), self.today)
        events: dict[str, int] = {}

        def log(code: str, event: str) -> None:
            events[event] = events.get(event, 0) + 1
            self.db.execute(
                "INSERT INTO journal (pas, code_operation, evenement) VALUES (?, ?, ?)", (number, code, event)
            )

        self.db.row_factory = sqlite3.Row
        rows = [
            dict(row)
            for row in self.db.execute(
                "SELECT * FROM operations WHERE supprime = 0 AND etat NOT IN ('LV', 'AN')"
                " ORDER BY code_operation"
            )
        ]
        self.db.row_factory = None
        for row in rows:
            if rng.random() >= TOUCH:
                continue
            if rng.random() < DELETE:
                row["supprime"] = 1
                row["motif_suppression"] = "Opération saisie en double"
                event = "suppression"
            else:
                event = self._move(rng, row, situation)
            row["date_situation"] = fr(situation)
            row["date_maj"] = stamp
            self._update(row)
            log(row["code_operation"], event)
        if rng.random() < NEW_PROJECT:
            row = self.new_project(rng, situation, stamp, started=False)
            self.insert(row)
            log(row["code_operation"], "creation")
        self.set_param("pas", number)
        self.set_param("horloge", stamp)
        return events

    def _move(self, rng: random.Random, row: dict[str, Any], situation: date) -> str:
        state = row["etat"]
        if state in NOT_STARTED:
            if rng.random() < CANCEL:
                row["etat"] = "AN"
                return "annulation"
            following = NOT_STARTED[NOT_STARTED.index(state) + 1] if state != "AP" else "EC"
            if state == "PR":
                row["date_convention"] = fr(situation)
            if following == "EC":
                row["date_debut_reelle"] = fr(situation)
                self._progress(rng, row, round(rng.uniform(0.5, 3.0), 1))
            row["etat"] = following
            return "statut"
        if state == "EC":
            roll = rng.random()
            if roll < 0.04:
                row["etat"] = "BL"
                return "statut"
            if roll < 0.06:
                row["etat"] = "AR"
                return "statut"
            progress = min(100.0, round(row["taux_avancement"] + rng.uniform(0.5, 6.0), 1))
            self._progress(rng, row, progress)
            if progress >= 100.0:
                row["etat"] = "AC"
                row["date_fin_reelle"] = fr(max(situation, from_fr(row["date_debut_reelle"]) or situation))
                return "achevement"
            return "avancement"
        if state in ("BL", "AR"):
            if rng.random() < 0.4:
                row["etat"] = "EC"
                return "statut"
            if state == "BL":
                self._progress(rng, row, min(99.0, round(row["taux_avancement"] + rng.uniform(0, 0.8), 1)))
            return "avancement"
        # AC → LV
        row["etat"] = "LV"
        return "livraison"

    def _update(self, row: dict[str, Any]) -> None:
        names = [column for column in COLUMNS if column != "code_operation"]
        self.db.execute(
            f"UPDATE operations SET {', '.join(f'{name} = ?' for name in names)} WHERE code_operation = ?",  # noqa: S608
            [row[name] for name in names] + [row["code_operation"]],
        )


def init(path: str | Path, *, projects: int, seed: int, force: bool = False) -> int:
    """Create the system's database with ``projects`` projects; the same seed gives the same rows."""
    path = Path(path)
    if path.exists():
        if not force:
            raise FileExistsError(path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO filiales VALUES (?, ?)", [(code, name) for code, (name, _) in FILIALES.items()]
        )
        db.executemany("INSERT INTO communes VALUES (?, ?, ?, ?, ?)", COMMUNES)
        db.executemany("INSERT INTO etats VALUES (?, ?)", list(ETATS.items()))
        simulator = Simulator(db, today=REFERENCE)
        for name, value in (("pas", 0), ("horloge", START.strftime(STAMP_FORMAT)), ("jours", 1)):
            simulator.set_param(name, value)
        simulator.set_param("graine", seed)
        simulator.set_param("prochain_numero", 1)
        rng = random.Random(seed)  # noqa: S311 - a simulation
        for index in range(projects):
            stamp = (START - timedelta(seconds=projects - index)).strftime(STAMP_FORMAT)
            row = simulator.new_project(rng, REFERENCE, stamp, started=True)
            if index == 0:
                _dakhla_pole(row)
            simulator.insert(row)
        db.execute("COMMIT")
    finally:
        db.close()
    return projects


def _dakhla_pole(row: dict[str, Any]) -> None:
    """The Dakhla urban pole (≈275 ha, 1.5 billion MAD, Al Omrane Dakhla-Oued Ed-Dahab) is always the
    first operation; its amounts keep their proportions to the budget."""
    scale = 1_500_000_000.0 / row["cout_global"]
    row.update(
        code_operation="OP-DAKHLA-" + row["code_operation"].rsplit("-", 1)[1],
        intitule="Pôle urbain de Dakhla",
        intitule_ar="القطب الحضري للداخلة",
        filiale="DAKHLA",
        programme="PU",
        commune="Dakhla",
        superficie_ha=275.0,
        superficie_cible_ha=275.0,
        lat=23.70000,
        lon=-15.93000,
        menages_cibles=None,
        menages_traites=None,
        cout_global=1_500_000_000.0,
        montant_engage=round(row["montant_engage"] * scale, 2),
        montant_paye=round(row["montant_paye"] * scale, 2),
        superficie_amenagee_ha=round(275.0 * row["taux_avancement"] / 100, 1),
    )


def advance(
    path: str | Path, *, steps: int, seed: int | None = None, today: date | None = None
) -> dict[str, int]:
    """Move the simulated clock ``steps`` steps forward; each step is one transaction."""
    db = sqlite3.connect(Path(path), isolation_level=None, timeout=30)
    totals: dict[str, int] = {}
    try:
        simulator = Simulator(db, today=today or date.today())  # noqa: DTZ011 - the real calendar day
        seed = int(simulator.param("graine")) if seed is None else seed
        for _ in range(steps):
            db.execute("BEGIN IMMEDIATE")
            try:
                events = simulator.step(seed)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            for name, count in events.items():
                totals[name] = totals.get(name, 0) + count
    finally:
        db.close()
    return totals


def rows(path: str | Path) -> list[dict[str, Any]]:
    """Every operation row, in code order (for comparisons with what the platform holds)."""
    db = sqlite3.connect(Path(path))
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM operations ORDER BY code_operation")]
    finally:
        db.close()


def records(path: str | Path, mapping_path: str | Path) -> list[dict[str, Any]]:
    """The records the connector makes of every row with the given mapping (withdrawals included)."""
    from marsad_connect.mapping import Mapping

    mapping = Mapping.load(mapping_path)
    return [mapping.map_row(row, row["code_operation"]).record for row in rows(path)]


def stats(path: str | Path) -> dict[str, Any]:
    db = sqlite3.connect(Path(path))
    try:
        by_state = dict(
            db.execute("SELECT etat, count(*) FROM operations WHERE supprime = 0 GROUP BY etat ORDER BY etat")
        )
        deleted = db.execute("SELECT count(*) FROM operations WHERE supprime = 1").fetchone()[0]
        clock = db.execute("SELECT valeur FROM parametres WHERE cle = 'horloge'").fetchone()[0]
        step = db.execute("SELECT valeur FROM parametres WHERE cle = 'pas'").fetchone()[0]
    finally:
        db.close()
    return {"horloge": clock, "pas": int(step), "etats": by_state, "supprimees": deleted}


def _interval(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    factor = units.get(text[-1:])
    return float(text[:-1] if factor else text) * (factor or 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m marsad_connect.simulation.alomrane",
        description="Système d'information Al Omrane simulé (SQLite), pour démontrer et tester "
        "marsad-connect.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("init", help="Créer la base (déterministe : même graine, mêmes lignes).")
    create.add_argument("--db", required=True, type=Path)
    create.add_argument("--projects", type=int, default=300)
    create.add_argument("--seed", type=int, default=1)
    create.add_argument("--force", action="store_true", help="Remplacer une base existante.")
    move = commands.add_parser("advance", help="Faire avancer l'horloge simulée.")
    move.add_argument("--db", required=True, type=Path)
    move.add_argument("--steps", type=int, default=1, help="Pas par exécution (un pas = un jour simulé).")
    move.add_argument("--seed", type=int, help="Graine (par défaut celle de la création).")
    move.add_argument("--today", type=date.fromisoformat, help="Date réelle plafond des dates (AAAA-MM-JJ).")
    move.add_argument("--every", help="Recommencer toutes les DURÉE (30s, 1m) jusqu'à SIGTERM.")
    show = commands.add_parser("stats", help="Horloge, pas et opérations par état.")
    show.add_argument("--db", required=True, type=Path)
    args = parser.parse_args(argv)

    if args.command == "init":
        try:
            count = init(args.db, projects=args.projects, seed=args.seed, force=args.force)
        except FileExistsError:
            print(f"{args.db} existe déjà (--force pour la recréer)", file=sys.stderr)
            return 1
        print(f"{count} opérations créées dans {args.db}")
        return 0
    if not args.db.exists():
        print(f"{args.db} introuvable (créez-la avec init)", file=sys.stderr)
        return 1
    if args.command == "stats":
        print(stats(args.db))
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while True:
        events = advance(args.db, steps=args.steps, seed=args.seed, today=args.today)
        summary = ", ".join(f"{name} {count}" for name, count in sorted(events.items())) or "aucun changement"
        print(f"{stats(args.db)['horloge']} : {summary}", flush=True)
        if not args.every or stop.wait(_interval(args.every)):
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
