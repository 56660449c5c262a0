"""Where project rows come from: a SQL database, a folder of CSV/XLSX files, or a JSON endpoint.

Each source yields ``SourceRow`` objects (a dict of columns, where it came from, and, for folders, the
watermark of its file) for what changed since a watermark. The watermark is whatever orders changes
in that source: a "last modified" column for SQL and JSON (named in the mapping), the modification
time and name of a file for folders.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import httpx

FOLDER_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")
CSV_DELIMITERS = ",;\t|"
WATERMARK_PARAM = re.compile(r"(?<![:\w]):watermark\b")


class SourceError(Exception):
    """The source cannot be read (database down, folder missing, endpoint failing)."""


@dataclass
class SourceRow:
    data: dict[str, Any]
    origin: str
    watermark: Any = None  # set by sources whose watermark is not a column (folders)


class Source(Protocol):
    kind: str

    def rows(self, watermark: Any) -> Iterator[SourceRow]: ...

    def close(self) -> None: ...


def watermark_value(value: Any) -> Any:
    """A watermark in a form JSON keeps and the source accepts back as a bound parameter."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


class SqlSource:
    """Rows of a query; ``:watermark`` in the query is bound to the current watermark."""

    kind = "sql"

    def __init__(self, url: str, query: str, initial_watermark: Any = None):
        from sqlalchemy import create_engine

        self.url = url
        self.query = query
        self.initial_watermark = initial_watermark
        try:
            self.engine = create_engine(url)
        except Exception as error:
            raise SourceError(f"URL de base de données invalide : {error}") from error

    def rows(self, watermark: Any) -> Iterator[SourceRow]:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        statement = text(self.query)
        params = {}
        if WATERMARK_PARAM.search(self.query):
            params["watermark"] = self.initial_watermark if watermark is None else watermark
        try:
            with self.engine.connect() as connection:
                result = connection.execute(statement, params)
                for number, row in enumerate(result.mappings(), start=1):
                    yield SourceRow(dict(row), f"ligne {number}")
        except SQLAlchemyError as error:
            raise SourceError(f"Lecture SQL impossible : {error}") from error

    def close(self) -> None:
        self.engine.dispose()


def file_watermark(path: Path) -> str:
    """Modification time (ns, zero-padded) and name: string order is the order of changes."""
    return f"{path.stat().st_mtime_ns:020d}|{path.name}"


def decode_csv(data: bytes, encoding: str | None = None) -> str:
    """UTF-8 (with or without BOM) first; Windows-1256, the usual Arabic Windows code page, otherwise."""
    if encoding:
        return data.decode(encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1256")


def read_csv(
    data: bytes, *, encoding: str | None = None, delimiter: str | None = None
) -> list[dict[str, Any]]:
    text = decode_csv(data, encoding)
    if delimiter is None:
        # The header line decides: the candidate it contains most (French exports often use ";").
        first = text.split("\n", 1)[0]
        delimiter = max(CSV_DELIMITERS, key=lambda candidate: (first.count(candidate), candidate == ","))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return []
    names = [name.strip() for name in header]
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        rows.append({name: (cells[i] if i < len(cells) else None) for i, name in enumerate(names) if name})
    return rows


def read_workbook(path: Path, sheet: str | int | None = None) -> list[dict[str, Any]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if isinstance(sheet, str):
            data = workbook.get_sheet_by_name(sheet).to_python()
        else:
            data = workbook.get_sheet_by_index(sheet or 0).to_python()
    except (CalamineError, OSError, ValueError, IndexError, KeyError) as error:
        raise SourceError(f"Classeur illisible ({path.name}) : {error}") from error
    if not data:
        return []
    names = [str(name).strip() for name in data[0]]
    rows = []
    for cells in data[1:]:
        if all(cell in ("", None) for cell in cells):
            continue
        rows.append(
            {
                name: (None if cells[i] == "" else cells[i])
                for i, name in enumerate(names)
                if name and i < len(cells)
            }
        )
    return rows


class FolderSource:
    """New or changed files of a folder, oldest change first; every row of such a file is read."""

    kind = "folder"

    def __init__(
        self,
        path: str | Path,
        *,
        pattern: str = "*",
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | int | None = None,
        min_age: float = 0.0,
        clock: Any = None,
    ):
        self.path = Path(path)
        self.pattern = pattern
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
        self.min_age = min_age
        self.clock = clock

    def files(self, watermark: Any) -> list[tuple[str, Path]]:
        if not self.path.is_dir():
            raise SourceError(f"Dossier source introuvable : {self.path}")
        import time

        now = (self.clock or time.time)()
        found = []
        for path in self.path.glob(self.pattern):
            if not path.is_file() or path.suffix.lower() not in FOLDER_SUFFIXES:
                continue
            if path.name.startswith((".", "~$")):
                continue  # hidden files and office lock files
            if self.min_age and now - path.stat().st_mtime < self.min_age:
                continue  # possibly still being written: next run
            mark = file_watermark(path)
            if watermark is None or mark > str(watermark):
                found.append((mark, path))
        return sorted(found)

    def rows(self, watermark: Any) -> Iterator[SourceRow]:
        for mark, path in self.files(watermark):
            try:
                if path.suffix.lower() == ".csv":
                    rows = read_csv(path.read_bytes(), encoding=self.encoding, delimiter=self.delimiter)
                else:
                    rows = read_workbook(path, self.sheet)
            except (OSError, UnicodeDecodeError, LookupError, csv.Error) as error:
                raise SourceError(f"Fichier illisible ({path.name}) : {error}") from error
            for number, data in enumerate(rows, start=2):
                yield SourceRow(data, f"{path.name}:{number}", mark)

    def close(self) -> None:
        pass


class JsonSource:
    """GET a URL returning a list of objects or ``{"items": [...]}``, with ``since=<watermark>``."""

    kind = "json"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        since_param: str = "since",
        items_key: str = "items",
        timeout: float = 60.0,
        initial_watermark: Any = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url
        self.since_param = since_param
        self.items_key = items_key
        self.initial_watermark = initial_watermark
        self.http = httpx.Client(headers=dict(headers or {}), timeout=timeout, transport=transport)

    def rows(self, watermark: Any) -> Iterator[SourceRow]:
        since = self.initial_watermark if watermark is None else watermark
        params = {} if since is None else {self.since_param: str(since)}
        try:
            response = self.http.get(self.url, params=params)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SourceError(f"Point d'accès JSON indisponible ({self.url}) : {error}") from error
        items = document.get(self.items_key) if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise SourceError(
                f"Réponse JSON inattendue : une liste ou {{{self.items_key!r}: [...]}} est attendu."
            )
        for number, item in enumerate(items):
            if not isinstance(item, dict):
                raise SourceError(f"Élément {number} de la réponse JSON : un objet est attendu.")
            yield SourceRow(item, f"élément {number}")

    def close(self) -> None:
        self.http.close()


def build_source(config: Mapping[str, Any], base_dir: Path) -> Source:
    """A source from the ``source`` section of the configuration (relative paths from ``base_dir``)."""
    kind = config.get("kind")
    if kind == "sql":
        return SqlSource(
            resolve_sqlite_url(str(config["url"]), base_dir),
            str(config["query"]),
            config.get("initial_watermark"),
        )
    if kind == "folder":
        return FolderSource(
            resolve_path(str(config["path"]), base_dir),
            pattern=str(config.get("pattern", "*")),
            encoding=config.get("encoding"),
            delimiter=config.get("delimiter"),
            sheet=config.get("sheet"),
            min_age=float(config.get("min_age_seconds", 0)),
        )
    if kind == "json":
        headers = dict(config.get("headers") or {})
        token_env = config.get("token_env")
        if token_env:
            headers.setdefault("Authorization", f"Bearer {os.environ.get(str(token_env), '')}")
        return JsonSource(
            str(config["url"]),
            headers=headers,
            since_param=str(config.get("since_param", "since")),
            items_key=str(config.get("items_key", "items")),
            timeout=float(config.get("timeout", 60)),
            initial_watermark=config.get("initial_watermark"),
        )
    raise SourceError(f"Type de source inconnu : {kind!r} (sql, folder ou json).")


def resolve_path(value: str, base_dir: Path) -> Path:
    path = Path(os.path.expandvars(os.path.expanduser(value)))
    return path if path.is_absolute() else (base_dir / path).resolve()


def resolve_sqlite_url(url: str, base_dir: Path) -> str:
    """``sqlite:///relative.db`` is taken from the configuration's folder, like every other path."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        rest = url[len(prefix) :]
        if rest and not rest.startswith(":memory:"):
            return prefix + str(resolve_path(rest, base_dir))
    return url
