"""Reading import files (CSV, XLSX) and turning their cells into field values.

Cells come as text (CSV) or as typed values (XLSX: numbers, dates, booleans). The parsers
accept what people type in Russian and English spreadsheets: ``1 234,56``, ``05.03.2024``,
``да``/``нет``, and strip the apostrophe our CSV export puts before formula-looking text.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.exceptions import UserError

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 500
CSV_DELIMITERS = (",", ";", "\t", "|")
# Set by our CSV export before text that a spreadsheet would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on", "x", "да", "д", "истина"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", "нет", "н", "ложь"})
# Thousands separators people and spreadsheets put in numbers, and currency marks.
_NUMBER_NOISE = re.compile("[\\s\u00a0\u202f\u2009₽$€]+")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


class ImportFileError(UserError):
    """The import cannot start: unreadable file, bad mapping. ``message`` is the English
    text with ``%(name)s`` placeholders, so callers can show it in the user's language."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self, translate) -> str:
        text = translate(self.message)
        return text % self.params if self.params else text


class CellError(ValueError):
    """A cell's value does not fit its field; the message says why."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass
class TableFile:
    """A file read as a table: the header row and an iterator over ``(row number, cells)``.

    Row numbers are those a spreadsheet shows: the header is row 1.
    """

    kind: str
    headers: list
    _rows: object

    def rows(self):
        return self._rows


# -- files ---------------------------------------------------------------------------------------------


def read_table(content: bytes, filename: str = "") -> TableFile:
    """Open CSV or XLSX content (told apart by its first bytes, not only by the name)."""
    if not content:
        raise ImportFileError("The file is empty.")
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(
            "The file is larger than %(limit)s MB.", limit=MAX_FILE_BYTES // 1024 // 1024
        )
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(content)
    else:
        table = _read_csv(content)
    if len(table.headers) > MAX_COLUMNS:
        raise ImportFileError(
            "The file has %(count)s columns; at most %(limit)s can be imported.",
            count=len(table.headers),
            limit=MAX_COLUMNS,
        )
    return table


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251, the usual Russian spreadsheet export."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1251", errors="replace")


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, equally long, columns."""
    sample = text[:65536].splitlines()[:20]
    best, best_score = ",", (0, 0)
    for delimiter in CSV_DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        score = (widths[0] > 1 and consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes) -> TableFile:
    if b"\x00" in content[:4096]:
        raise ImportFileError("The file is neither CSV text nor an XLSX workbook.")
    text = decode_text(content)
    if "\x00" in text:  # no database stores it in text, and no spreadsheet writes it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ImportFileError("Line %(line)s holds a NUL character.", line=line)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError("Row 1 cannot be read: %(error)s", error=str(exc)) from None
    if not headers or not any(h.strip() for h in headers):
        raise ImportFileError("The first row must hold the column names.")

    def rows():
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(
                    "Row %(row)s cannot be read: %(error)s", row=number, error=str(exc)
                ) from None
            if any(cells):
                yield number, cells

    return TableFile("csv", [h.strip() for h in headers], rows())


def _read_xlsx(content: bytes) -> TableFile:
    import openpyxl  # heavy to load: only for XLSX files
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        headers = next(values, None)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, IndexError, ValueError):
        raise ImportFileError("The file is not a readable XLSX workbook.") from None
    headers = list(headers or ())
    while headers and headers[-1] in (None, ""):
        headers.pop()
    if not headers:
        raise ImportFileError("The first row must hold the column names.")

    def rows():
        number = 1
        try:
            for cells in values:
                number += 1
                if any(c not in (None, "") for c in cells):
                    yield number, list(cells)
        finally:
            book.close()

    return TableFile("xlsx", ["" if h is None else str(h).strip() for h in headers], rows())


# -- cells ---------------------------------------------------------------------------------------------


def is_empty(value) -> bool:
    return value is None or value == "" or (type(value) is str and value.isspace())


def clean_text(value) -> str:
    """A cell as text, without the apostrophe our export adds before formula-looking text."""
    if type(value) is not str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, datetime.datetime) and value.time() == datetime.time():
            value = value.date()
        value = value.isoformat() if isinstance(value, datetime.date) else str(value)
    if value[:1] == "'" and value[1:2] in FORMULA_STARTS:
        return value[1:]
    return value


def parse_decimal(value) -> Decimal:
    """``1 234,56``, ``1,234.56``, ``1.234,56``, ``-5``, ``12 ₽`` → Decimal."""
    if type(value) is str:
        if _PLAIN_NUMBER.match(value):
            return Decimal(value)
        text = value if value[:1] != "'" else clean_text(value)
    elif isinstance(value, bool):
        raise CellError("Expected a number, got %(value)r", value=value)
    elif isinstance(value, Decimal):
        return value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        return Decimal(repr(value))
    else:
        text = clean_text(value)
    text = _NUMBER_NOISE.sub("", text).replace("\u2212", "-")
    commas = text.count(",")
    if commas and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif commas == 1:
        text = text.replace(",", ".")
    elif commas > 1 or text.count(".") > 1:
        text = text.replace(",", "").replace(".", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError("Expected a number, got %(value)r", value=value) from None
    if not number.is_finite():
        raise CellError("Expected a number, got %(value)r", value=value)
    return number


def parse_integer(value) -> int:
    if type(value) is int:
        return value
    if type(value) is str and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError("Expected a whole number, got %(value)r", value=value)
    result = int(number)
    if abs(result) >= 2**63:
        raise CellError("The number %(value)r is too large.", value=value)
    return result


def parse_float(value) -> float:
    if type(value) is float:
        return value
    if type(value) is str and _PLAIN_NUMBER.match(value):
        return float(value)
    return float(parse_decimal(value))


def parse_boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = clean_text(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError("Expected yes or no, got %(value)r", value=value)


def parse_date(value) -> datetime.date:
    """``2024-03-05``, ``05.03.2024`` or a spreadsheet date."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = clean_text(value).strip()
    try:
        if _ISO_DATE.match(text):
            return datetime.date.fromisoformat(text)
        match = _RU_DATE.match(text)
        if match and match.group(4) is None:
            day, month, year = (int(g) for g in match.groups()[:3])
            return datetime.date(year, month, day)
        if len(text) > 10 and _ISO_DATE.match(text[:10]):
            moment = datetime.datetime.fromisoformat(text)
            if moment.time() == datetime.time():
                return moment.date()
    except ValueError:
        pass
    raise CellError("Expected a date (2024-03-31 or 31.03.2024), got %(value)r", value=value)


def zone(name):
    """The time zone called ``name``, or None (UTC) for no or an unknown name."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def parse_datetime(value, tz=None) -> datetime.datetime:
    """ISO (``2024-03-05 14:30``, with an optional offset) or ``05.03.2024 14:30``.

    A time without an offset is in ``tz`` (UTC when None); the result is aware then.
    """
    moment = _parse_datetime(value)
    if moment.tzinfo is None and tz is not None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _parse_datetime(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    text = clean_text(value).strip()
    try:
        match = _RU_DATE.match(text)
        if match:
            day, month, year, hour, minute, second = (int(g or 0) for g in match.groups())
            return datetime.datetime(year, month, day, hour, minute, second)
        if len(text) >= 10 and _ISO_DATE.match(text[:10]):
            return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    raise CellError(
        "Expected a date and time (2024-03-31 14:30 or 31.03.2024 14:30), got %(value)r",
        value=value,
    )


def split_names(value) -> list[str]:
    """The comma-separated names of a many2many cell."""
    return [part.strip() for part in clean_text(value).split(",") if part.strip()]
