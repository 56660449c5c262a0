import itertools
from datetime import date

import pytest
from marsad_connect.mapping import Mapping, normalize_key
from marsad_connect.simulation import alomrane
from marsad_connect.validate import validate

from conftest import EXAMPLES

TODAY = date(2026, 11, 23)
# Statuses only move forward, except between works (EC) and their interruptions (BL, AR).
ORDER = {"PR": 0, "CV": 1, "ET": 2, "AP": 3, "EC": 4, "BL": 4, "AR": 4, "AC": 5, "LV": 6, "AN": 7}
MONOTONIC = ("taux_avancement", "montant_engage", "montant_paye", "menages_traites", "superficie_amenagee_ha")


def table(path):
    return {row["code_operation"]: row for row in alomrane.rows(path)}


def test_init_is_deterministic(tmp_path):
    alomrane.init(tmp_path / "a.sqlite3", projects=60, seed=5)
    alomrane.init(tmp_path / "b.sqlite3", projects=60, seed=5)
    alomrane.init(tmp_path / "c.sqlite3", projects=60, seed=6)

    first = alomrane.rows(tmp_path / "a.sqlite3")
    assert len(first) == 60
    assert first == alomrane.rows(tmp_path / "b.sqlite3")
    assert first != alomrane.rows(tmp_path / "c.sqlite3")


def test_init_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "si.sqlite3"
    alomrane.init(path, projects=3, seed=1)

    with pytest.raises(FileExistsError):
        alomrane.init(path, projects=5, seed=1)
    alomrane.init(path, projects=5, seed=1, force=True)
    assert len(alomrane.rows(path)) == 5


def test_the_dakhla_urban_pole_is_always_there(tmp_path):
    alomrane.init(tmp_path / "si.sqlite3", projects=10, seed=9)

    (pole,) = [r for r in alomrane.rows(tmp_path / "si.sqlite3") if r["intitule"] == "Pôle urbain de Dakhla"]
    assert (
        pole["filiale"],
        pole["programme"],
        pole["commune"],
        pole["superficie_ha"],
        pole["cout_global"],
    ) == (
        "DAKHLA",
        "PU",
        "Dakhla",
        275.0,
        1_500_000_000.0,
    )
    assert pole["code_operation"] == "OP-DAKHLA-00001"


def test_advance_is_deterministic(tmp_path):
    for name in ("a", "b"):
        alomrane.init(tmp_path / f"{name}.sqlite3", projects=50, seed=2)
        alomrane.advance(tmp_path / f"{name}.sqlite3", steps=15, seed=4, today=TODAY)

    assert alomrane.rows(tmp_path / "a.sqlite3") == alomrane.rows(tmp_path / "b.sqlite3")


def test_advance_moves_projects_forward_and_never_back(tmp_path):
    path = tmp_path / "si.sqlite3"
    alomrane.init(path, projects=120, seed=3)
    history = [table(path)]
    totals: dict[str, int] = {}
    for _ in range(12):
        for name, count in alomrane.advance(path, steps=5, seed=8, today=TODAY).items():
            totals[name] = totals.get(name, 0) + count
        history.append(table(path))

    assert alomrane.stats(path)["pas"] == 60
    assert alomrane.stats(path)["horloge"] == "2026-03-02 06:00:00"
    assert {"avancement", "statut", "creation"} <= set(totals)
    for before, after in itertools.pairwise(history):
        assert set(before) <= set(after)  # rows are never removed, only flagged
        for code, old in before.items():
            new = after[code]
            for column in MONOTONIC:
                if old[column] is not None:
                    assert new[column] >= old[column], (code, column)
            assert ORDER[new["etat"]] >= ORDER[old["etat"]] or {old["etat"], new["etat"]} <= {
                "EC",
                "BL",
                "AR",
            }
            assert new["supprime"] >= old["supprime"]
            assert new["date_maj"] >= old["date_maj"]
            if new != old:
                assert new["date_maj"] > old["date_maj"]


def test_rows_are_coherent(tmp_path):
    path = tmp_path / "si.sqlite3"
    alomrane.init(path, projects=150, seed=11)
    alomrane.advance(path, steps=40, seed=11, today=TODAY)

    for row in alomrane.rows(path):
        assert 0 <= row["montant_paye"] <= row["montant_engage"] <= row["cout_global"]
        assert 0 <= row["taux_avancement"] <= 100
        if row["etat"] in ("AC", "LV"):
            assert row["taux_avancement"] == 100
            assert row["date_fin_reelle"]
        if row["etat"] in ("PR", "CV", "ET", "AP"):
            assert row["taux_avancement"] == 0
            assert row["date_debut_reelle"] is None
        for column in ("date_situation", "date_debut_reelle", "date_fin_reelle", "date_convention"):
            if row[column]:
                assert alomrane.from_fr(row[column]) <= TODAY


def test_dates_of_facts_never_pass_today(tmp_path):
    path = tmp_path / "si.sqlite3"
    alomrane.init(path, projects=30, seed=1)

    alomrane.advance(path, steps=20, seed=1, today=date(2026, 1, 10))

    situations = {row["date_situation"] for row in alomrane.rows(path)}
    assert max(alomrane.from_fr(s) for s in situations) == date(2026, 1, 10)
    assert alomrane.stats(path)["horloge"] == "2026-01-21 06:00:00"  # the change stamps go on


def test_the_example_mapping_covers_the_simulated_codes():
    mapping = Mapping.load(EXAMPLES / "mapping.yaml")

    assert {normalize_key(code) for code in alomrane.FILIALES} == set(mapping.operator_table.codes)
    assert {normalize_key(code) for code in alomrane.ETATS} == set(mapping.status.codes)
    assert {normalize_key(label) for label, *_ in alomrane.COMMUNES} == set(mapping.communes.codes)
    assert set(alomrane.PROGRAMMES) == mapping.programmes


def test_every_simulated_row_maps_to_a_valid_record(tmp_path):
    path = tmp_path / "si.sqlite3"
    alomrane.init(path, projects=200, seed=1)
    alomrane.advance(path, steps=60, seed=1, today=TODAY)
    mapping = Mapping.load(EXAMPLES / "mapping.yaml")
    known = mapping.known()

    withdrawals = 0
    for row in alomrane.rows(path):
        mapped = mapping.map_row(row, row["code_operation"])
        assert mapped.problems == [], row["code_operation"]
        assert validate(mapped.record, known, TODAY) == [], row["code_operation"]
        withdrawals += mapped.withdrawal
    assert withdrawals == sum(row["supprime"] for row in alomrane.rows(path))


def test_the_command_line(tmp_path, capsys):
    path = tmp_path / "si.sqlite3"

    assert alomrane.main(["init", "--db", str(path), "--projects", "20", "--seed", "4"]) == 0
    assert alomrane.main(["init", "--db", str(path)]) == 1
    assert alomrane.main(["advance", "--db", str(path), "--steps", "3", "--today", "2026-11-23"]) == 0
    assert alomrane.main(["advance", "--db", str(tmp_path / "absent.sqlite3")]) == 1
    assert alomrane.main(["stats", "--db", str(path)]) == 0
    output = capsys.readouterr().out
    assert "20 opérations créées" in output
    assert "2026-01-04 06:00:00 :" in output
    assert "'pas': 3" in output
