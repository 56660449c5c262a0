import json
import os
import sqlite3
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import xlsxwriter
from marsad_connect.sources import (
    FolderSource,
    JsonSource,
    SourceError,
    SqlSource,
    build_source,
    decode_csv,
    read_csv,
    resolve_sqlite_url,
)

ARABIC = "القطب الحضري للداخلة"


# --- SQL -------------------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "si.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE operations (code TEXT, montant REAL, date_maj TEXT)")
    db.executemany(
        "INSERT INTO operations VALUES (?, ?, ?)",
        [
            ("A", 1.5, "2026-01-01 06:00:00"),
            ("B", 2.0, "2026-01-02 06:00:00"),
            ("C", None, "2026-01-02 06:00:00"),
        ],
    )
    db.commit()
    db.close()
    return path


def test_sql_rows_since_the_watermark(database):
    query = "SELECT * FROM operations WHERE date_maj > :watermark ORDER BY date_maj, code"
    source = SqlSource(f"sqlite:///{database}", query, initial_watermark="")

    first = list(source.rows(None))
    later = list(source.rows("2026-01-01 06:00:00"))
    source.close()

    assert [row.data for row in first] == [
        {"code": "A", "montant": 1.5, "date_maj": "2026-01-01 06:00:00"},
        {"code": "B", "montant": 2.0, "date_maj": "2026-01-02 06:00:00"},
        {"code": "C", "montant": None, "date_maj": "2026-01-02 06:00:00"},
    ]
    assert [row.origin for row in first] == ["ligne 1", "ligne 2", "ligne 3"]
    assert [row.data["code"] for row in later] == ["B", "C"]
    assert all(row.watermark is None for row in later)


def test_a_query_without_watermark_reads_everything(database):
    source = SqlSource(f"sqlite:///{database}", "SELECT code FROM operations ORDER BY code")

    assert [row.data["code"] for row in source.rows("2099")] == ["A", "B", "C"]


def test_sql_errors_are_source_errors(database):
    source = SqlSource(f"sqlite:///{database}", "SELECT * FROM nowhere WHERE x > :watermark")

    with pytest.raises(SourceError, match="Lecture SQL impossible"):
        list(source.rows(None))


def test_relative_sqlite_urls_are_taken_from_the_configuration_folder(tmp_path):
    assert (
        resolve_sqlite_url("sqlite:///si/si.sqlite3", tmp_path)
        == f"sqlite:///{tmp_path / 'si' / 'si.sqlite3'}"
    )
    assert resolve_sqlite_url("sqlite:////abs/si.sqlite3", tmp_path) == "sqlite:////abs/si.sqlite3"
    assert resolve_sqlite_url("sqlite:///:memory:", tmp_path) == "sqlite:///:memory:"
    assert resolve_sqlite_url("postgresql://u@h/db", tmp_path) == "postgresql://u@h/db"


# --- Folders of CSV and XLSX files ----------------------------------------------------------------------


CSV_TEXT = f"code;intitule_ar;montant\nDOE-PU-001;{ARABIC};1 500,50\n;;\nDOE-PU-002;حي السلام;12\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1256"])
def test_csv_in_the_three_encodings(encoding):
    rows = read_csv(CSV_TEXT.encode(encoding))

    assert rows == [
        {"code": "DOE-PU-001", "intitule_ar": ARABIC, "montant": "1 500,50"},
        {"code": "DOE-PU-002", "intitule_ar": "حي السلام", "montant": "12"},
    ]


def test_csv_delimiters_and_forced_encoding():
    assert read_csv(b"a,b\n1,2\n") == [{"a": "1", "b": "2"}]
    assert read_csv(b"a\tb\n1\t2\n") == [{"a": "1", "b": "2"}]
    assert read_csv("a;b\né;2\n".encode("latin-1"), encoding="latin-1") == [{"a": "é", "b": "2"}]
    assert decode_csv("é".encode("cp1256")) == "é"
    assert read_csv(b"") == []


def write_xlsx(path: Path) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Operations")
    text = workbook.add_format({"num_format": "@"})
    when = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for column, name in enumerate(["code", "commune", "intitule_ar", "cout", "debut", "vide"]):
        sheet.write_string(0, column, name)
    sheet.write_string(1, 0, "DOE-PU-001", text)
    sheet.write_string(1, 1, "12.391.01.01", text)
    sheet.write_string(1, 2, ARABIC)
    sheet.write_number(1, 3, 1500000000.5)
    sheet.write_datetime(1, 4, datetime(2024, 1, 1), when)  # noqa: DTZ001 - spreadsheets have no zones
    sheet.write_string(2, 0, "DOE-PU-002", text)
    sheet.write_string(2, 1, "12.391.05.01", text)
    sheet.write_number(2, 3, 42)
    workbook.close()


def test_folder_reads_xlsx_and_csv_oldest_change_first(tmp_path):
    write_xlsx(tmp_path / "b.xlsx")
    (tmp_path / "a.csv").write_bytes(CSV_TEXT.encode("cp1256"))
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "~$b.xlsx").write_bytes(b"lock file")
    os.utime(tmp_path / "b.xlsx", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(tmp_path / "a.csv", ns=(1_700_000_100_000_000_000, 1_700_000_100_000_000_000))

    rows = list(FolderSource(tmp_path).rows(None))

    assert [(row.origin, row.watermark) for row in rows] == [
        ("b.xlsx:2", "01700000000000000000|b.xlsx"),
        ("b.xlsx:3", "01700000000000000000|b.xlsx"),
        ("a.csv:2", "01700000100000000000|a.csv"),
        ("a.csv:3", "01700000100000000000|a.csv"),
    ]
    assert rows[0].data == {
        "code": "DOE-PU-001",
        "commune": "12.391.01.01",
        "intitule_ar": ARABIC,
        "cout": 1500000000.5,
        "debut": date(2024, 1, 1),
        "vide": None,
    }
    assert rows[1].data == {
        "code": "DOE-PU-002",
        "commune": "12.391.05.01",
        "intitule_ar": None,
        "cout": 42.0,
        "debut": None,
        "vide": None,
    }
    assert rows[2].data["intitule_ar"] == ARABIC


def test_folder_reads_only_new_or_changed_files(tmp_path):
    for name, stamp in (("a.csv", 100), ("b.csv", 200), ("c.csv", 200)):
        (tmp_path / name).write_text("code\nX\n", encoding="utf-8")
        os.utime(tmp_path / name, ns=(stamp, stamp))
    source = FolderSource(tmp_path)

    assert [path.name for _, path in source.files("00000000000000000200|b.csv")] == ["c.csv"]
    assert [path.name for _, path in source.files("00000000000000000200|c.csv")] == []
    os.utime(tmp_path / "a.csv", ns=(300, 300))  # a.csv changed again
    assert [path.name for _, path in source.files("00000000000000000200|c.csv")] == ["a.csv"]


def test_files_still_being_written_wait_for_the_next_run(tmp_path):
    (tmp_path / "new.csv").write_text("code\nX\n")
    now = (tmp_path / "new.csv").stat().st_mtime

    assert FolderSource(tmp_path, min_age=60, clock=lambda: now + 10).files(None) == []
    assert len(FolderSource(tmp_path, min_age=60, clock=lambda: now + 61).files(None)) == 1


def test_a_missing_folder_or_a_broken_workbook(tmp_path):
    with pytest.raises(SourceError, match="introuvable"):
        list(FolderSource(tmp_path / "absent").rows(None))
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(SourceError, match="Classeur illisible"):
        list(FolderSource(tmp_path).rows(None))


# --- JSON endpoint ------------------------------------------------------------------------------------


@pytest.fixture
def endpoint():
    seen: list[dict] = []
    items = [
        {"ref": "A", "date_maj": "2026-01-01T06:00:00"},
        {"ref": "B", "date_maj": "2026-01-02T06:00:00"},
    ]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            query = {name: values[0] for name, values in parse_qs(url.query).items()}
            seen.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization")})
            since = query.get("since", "")
            selected = [item for item in items if item["date_maj"] > since]
            if url.path == "/list":
                document, status = selected, 200
            elif url.path == "/wrapped":
                document, status = {"items": selected, "next": None}, 200
            elif url.path == "/odd":
                document, status = {"data": selected}, 200
            else:
                document, status = {"title": "erreur"}, 500
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_json_endpoint_list_and_items(endpoint):
    url, seen = endpoint
    source = JsonSource(f"{url}/list", headers={"Authorization": "Bearer si"})

    assert [row.data["ref"] for row in source.rows(None)] == ["A", "B"]
    assert [row.data["ref"] for row in source.rows("2026-01-01T06:00:00")] == ["B"]
    wrapped = JsonSource(f"{url}/wrapped")
    assert [(row.data["ref"], row.origin) for row in wrapped.rows(None)] == [
        ("A", "élément 0"),
        ("B", "élément 1"),
    ]
    assert seen[0] == {"path": "/list", "query": {}, "auth": "Bearer si"}
    assert seen[1]["query"] == {"since": "2026-01-01T06:00:00"}


def test_json_endpoint_failures(endpoint):
    url, _ = endpoint

    with pytest.raises(SourceError, match="indisponible"):
        list(JsonSource(f"{url}/fail").rows(None))
    with pytest.raises(SourceError, match="inattendue"):
        list(JsonSource(f"{url}/odd").rows(None))
    assert [row.data["ref"] for row in JsonSource(f"{url}/odd", items_key="data").rows(None)] == ["A", "B"]


def test_build_source_from_configuration(tmp_path, database):
    sql = build_source(
        {"kind": "sql", "url": f"sqlite:///{database.name}", "query": "SELECT 1 AS one"}, database.parent
    )
    folder = build_source({"kind": "folder", "path": "exports", "min_age_seconds": 5}, tmp_path)

    assert [row.data for row in sql.rows(None)] == [{"one": 1}]
    assert isinstance(folder, FolderSource)
    assert (folder.path, folder.min_age) == (tmp_path / "exports", 5.0)
    with pytest.raises(SourceError, match="Type de source inconnu"):
        build_source({"kind": "ftp"}, tmp_path)
