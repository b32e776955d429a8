"""Import of CSV and XLSX files and export back to them, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest

from core.exceptions import AccessError
from core.io import export_xlsx, import_values, importer
from core.io.import_values import ImportFileError


@pytest.fixture
def world(install):
    """fx_orm (partners, orders, tags) and fx_access (leads with rules), some records, users."""
    registry = install("fx_orm", "fx_access")
    with registry.transaction() as env:
        env["orm.partner"].create(
            [
                {"name": "Acme", "email": "acme@example.com"},
                {"name": "Beta"},
                {"name": "Twin"},
                {"name": "Twin"},
                {"name": "Sleeping", "active": False},
            ]
        )
        env["acc.tag"].create([{"name": "vip"}, {"name": "cold"}])
        own = env.ref("fx_access.group_sale_own")
        users = env["res.users"].create(
            [
                {"name": "Anna", "login": "anna", "groups_id": [(6, 0, [own.id])]},
                {"name": "Boris", "login": "boris", "groups_id": [(6, 0, [own.id])]},
            ]
        )
    return registry, dict(zip(("anna", "boris"), users.ids, strict=True))


def _csv(text: str, encoding="utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _errors(result):
    return [(e["row"], e["column"]) for e in result.errors]


def test_preview_suggests_fields_by_name_or_label_in_either_language(world):
    registry, _ = world
    content = _csv(
        "Название;E-MAIL;Company / E-mail;Внешний идентификатор;tags/ID;shoe size\n"
        "Gamma;g@example.com;;;fx_orm.tag_gold;42\n"
    )
    with registry.transaction() as env:
        shown = importer.preview(env, "orm.partner", content, "partners.csv")
    assert shown["headers"][0] == "Название"
    assert shown["rows"] == [(2, ["Gamma", "g@example.com", "", "", "fx_orm.tag_gold", "42"])]
    assert shown["mapping"] == ["name", "email", "parent_id/email", "id", "tag_ids/id", None]
    assert ("parent_id/id", "Company / External ID") in shown["options"]


@pytest.mark.parametrize(
    "content",
    [
        _csv("name,email\nGamma,g@example.com\nДельта,d@example.com\n"),
        b"\xef\xbb\xbf" + _csv("name;email\nGamma;g@example.com\nДельта;d@example.com\n"),
        _csv("name\temail\nGamma\tg@example.com\nДельта\td@example.com\n", "cp1251"),
        _csv('"name"|"email"\n"Gamma"|"g@example.com"\n"Дельта"|"d@example.com"\n'),
    ],
    ids=["comma", "semicolon-bom", "tab-cp1251", "pipe-quoted"],
)
def test_csv_delimiter_and_encoding_are_recognised(world, content):
    registry, _ = world
    with registry.transaction() as env:
        result = importer.import_file(env, "orm.partner", content, "p.csv")
        assert result.errors == [] and result.created == 2
        rows = env["orm.partner"].browse(result.ids).read(["name", "email"])
    assert [(r["name"], r["email"]) for r in rows] == [
        ("Gamma", "g@example.com"),
        ("Дельта", "d@example.com"),
    ]


def test_spreadsheet_values_in_russian_and_english_formats_are_converted(world):
    registry, _ = world
    content = _csv(
        "Title;Salesman;Stage;Expected revenue;Deadline;Active;Tags;Customer\n"
        "L1;Anna;Won;1 234,56;31.03.2024;да;vip, cold;'=HYPERLINK(1)\n"
        "L2;Boris;lost;1\u00a0000\u00a0000.5;2024-04-01;no;;'-minus\n"
        "L3;Anna;new;-7,1;;1;cold;plain\n"
    )
    with registry.transaction() as env:
        result = importer.import_file(env, "acc.lead", content, "leads.csv")
        assert result.errors == []
        rows = (
            env["acc.lead"]
            .browse(result.ids)
            .read(
                ["name", "user_id", "stage", "expected_revenue", "date_deadline", "active"]
                + ["tag_ids", "partner_name"]
            )
        )
        tags = {t.name: t.id for t in env["acc.tag"].search([])}
    anna, boris = world[1]["anna"], world[1]["boris"]
    assert [
        (
            r["name"],
            r["user_id"][0],
            r["stage"],
            r["expected_revenue"],
            r["date_deadline"],
            r["active"],
            sorted(r["tag_ids"]),
            r["partner_name"],
        )
        for r in rows
    ] == [
        (
            "L1",
            anna,
            "won",
            Decimal("1234.56"),
            datetime.date(2024, 3, 31),
            True,
            sorted([tags["vip"], tags["cold"]]),
            "=HYPERLINK(1)",
        ),
        (
            "L2",
            boris,
            "lost",
            Decimal("1000000.50"),
            datetime.date(2024, 4, 1),
            False,
            [],
            "-minus",
        ),
        ("L3", anna, "new", Decimal("-7.10"), None, True, [tags["cold"]], "plain"),
    ]
    assert all(isinstance(r["expected_revenue"], Decimal) for r in rows)


def test_every_bad_row_is_reported_with_row_and_column_and_nothing_is_written(world):
    registry, _ = world
    content = _csv(
        "Number,Customer,State,Date\n"
        "SO1,Acme,Confirmed,05.03.2024\n"
        "SO2,Nobody,draft,2024-01-01\n"
        "SO3,Twin,sideways,31.02.2024\n"
        "SO4,Beta,draft,2024-01-02\n"
    )
    with registry.transaction() as env:
        result = importer.import_file(env, "orm.order", content, "orders.csv")
        count = env["orm.order"].search_count([])
    assert _errors(result) == [(3, "Customer"), (4, "Customer"), (4, "State"), (4, "Date")]
    messages = [e["message"] for e in result.errors]
    assert "Nobody" in messages[0]
    assert "Several" in messages[1]
    assert "Draft, Confirmed, Cancelled" in messages[2]
    assert "31.02.2024" in messages[3]
    assert not result.committed and result.failed_rows == 2
    assert count == 0


def test_skip_errors_imports_the_good_rows_and_reports_the_bad_ones(world):
    registry, _ = world
    content = _csv("name,partner_id,date_order\nSO1,Acme,2024-03-05\nSO2,Nobody,\nSO3,,bad\n")
    with registry.transaction() as env:
        result = importer.import_file(env, "orm.order", content, "o.csv", skip_errors=True)
    assert _errors(result) == [(3, "partner_id"), (4, "date_order")]
    assert result.committed and result.created == 1
    with registry.transaction() as env:
        orders = env["orm.order"].search([]).read(["name", "partner_id", "date_order"])
    assert [(o["name"], o["partner_id"][1], o["date_order"]) for o in orders] == [
        ("SO1", "Acme", datetime.date(2024, 3, 5))
    ]


def test_dry_run_finds_database_constraint_errors_per_row_and_writes_nothing(world):
    registry, _ = world
    rows = ["name,email"] + [f"P{i},p{i}@example.com" for i in range(30)]
    rows[12] = "P11,acme@example.com"  # taken by Acme
    rows[25] = "P24,p3@example.com"  # the same as row 5 of the file
    content = _csv("\n".join(rows) + "\n")
    with registry.transaction() as env:
        before = env["orm.partner"].search_count([])
        result = importer.import_file(env, "orm.partner", content, "p.csv", dry_run=True)
    assert _errors(result) == [(13, "email"), (26, "email")]
    assert result.created == 28 and result.dry_run and not result.committed
    with registry.transaction() as env:
        assert env["orm.partner"].search_count([]) == before


def test_required_field_missing_in_the_file_or_in_a_row_is_an_error(world):
    registry, _ = world
    with registry.transaction() as env:
        with pytest.raises(ImportFileError, match="Order is required"):
            importer.import_file(env, "orm.order.line", _csv("product\nx\n"), "l.csv")
        result = importer.import_file(
            env, "orm.partner", _csv("name,email\n,a@example.com\nOk,\n"), "p.csv"
        )
    assert [(e["row"], e["column"], e["message"]) for e in result.errors] == [
        (2, "name", "This field is required.")
    ]


def test_external_id_column_updates_named_records_and_creates_the_others(world):
    registry, _ = world
    with registry.transaction() as env:
        first = importer.import_file(
            env, "orm.partner", _csv("id,name\nmine.gamma,Gamma\ndelta,Delta\n"), "p.csv"
        )
        assert first.created == 2 and first.errors == []
        gamma = env.ref("mine.gamma")
        delta = env.ref("__import__.delta")
        again = importer.import_file(
            env,
            "orm.partner",
            _csv("id,name\nmine.gamma,Gamma 2\n__import__.delta,Delta 2\nfx_orm.nope,X\n"),
            "p.csv",
            skip_errors=True,
        )
        names = {p.id: p.name for p in env["orm.partner"].search([])}
    assert again.updated == 2 and again.created == 0
    assert _errors(again) == [(4, "id")]  # new ids in an addon's namespace are refused
    assert names[gamma.id] == "Gamma 2" and names[delta.id] == "Delta 2"
    with registry.transaction() as env:
        gamma.with_env(env).unlink()  # its external id stays behind, pointing nowhere
        third = importer.import_file(env, "orm.partner", _csv("id,name\nmine.gamma,G3\n"), "p.csv")
        assert (third.created, third.updated, third.errors) == (1, 0, [])
        assert env.ref("mine.gamma").name == "G3"


def _updates(registry, table, call):
    """The UPDATE statements on ``table`` that ``call()`` runs."""
    db = registry.db
    executed = []
    original = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        executed.append(sql)
        return original(sql, params, *args, **kwargs)

    db.execute_sql = counting
    try:
        result = call()
    finally:
        db.execute_sql = original
    return result, [sql for sql in executed if sql.startswith(f'UPDATE "{table}"')]


def test_reimport_writes_only_what_changed_and_groups_equal_changes(world):
    registry, _ = world
    with registry.transaction() as env:
        env["orm.partner"].create([{"name": f"P{i}", "email": f"p{i}@x.org"} for i in range(40)])
        ids = env["orm.partner"].search([]).ids
        content, _mime, name = export_xlsx.export_records(
            env, "orm.partner", ["id", "name", "email"]
        )

    def again(data):
        with registry.transaction() as env:
            return importer.import_file(env, "orm.partner", data, name)

    result, updates = _updates(registry, "orm_partner", lambda: again(content))
    assert (result.updated, result.created, result.errors) == (len(ids), 0, [])
    assert updates == []
    lines = content.decode("utf-8-sig").splitlines()
    renamed = [lines[0] + ",active"] + [f"{line},no" for line in lines[1:]]
    renamed[1] = renamed[1].replace(",Acme,", ",Acme Corp,")
    result, updates = _updates(registry, "orm_partner", lambda: again("\n".join(renamed).encode()))
    assert result.updated == len(ids) and result.errors == []
    assert len(updates) == 2  # Acme's new name and active, then "active = no" for all others
    with registry.transaction() as env:
        partners = env["orm.partner"].with_context(active_test=False).search([])
        assert partners.filtered(lambda p: p.active).ids == []
        assert "Acme Corp" in partners.mapped("name")


def test_many2one_by_name_costs_one_query_per_column_not_per_row(world):
    registry, _ = world

    def lookups(count):
        lines = ["name,partner_id"] + [f"SO{i},{('Acme', 'Beta')[i % 2]}" for i in range(count)]
        db = registry.db
        executed = []
        original = db.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            executed.append(sql)
            return original(sql, params, *args, **kwargs)

        db.execute_sql = counting
        try:
            with registry.transaction() as env:
                result = importer.import_file(env, "orm.order", _csv("\n".join(lines)), "o.csv")
        finally:
            db.execute_sql = original
        assert result.created == count
        return [sql for sql in executed if "orm_partner" in sql and sql.startswith("SELECT")]

    assert len(lookups(10)) == len(lookups(300))


def test_xlsx_with_typed_cells_imports(world):
    registry, _ = world
    content = _xlsx(
        [
            ["Title", "Expected revenue", "Deadline", "Active", "Stage", "Customer"],
            ["X1", 1500.25, datetime.datetime(2024, 5, 6), True, "Won", 79161234567],
            ["X2", 7, "06.05.2024", False, None, 2.0],
            [None, None, None, None, None, None],
            [42, "12,5", None, None, "lost", datetime.datetime(2024, 1, 2)],
        ]
    )
    with registry.transaction() as env:
        result = importer.import_file(env, "acc.lead", content, "leads.xlsx")
        rows = (
            env["acc.lead"]
            .browse(result.ids)
            .read(["name", "expected_revenue", "date_deadline", "active", "stage", "partner_name"])
        )
    assert result.errors == []
    assert [tuple(r[k] for k in list(r)[1:]) for r in rows] == [
        ("X1", Decimal("1500.25"), datetime.date(2024, 5, 6), True, "won", "79161234567"),
        ("X2", Decimal("7.00"), datetime.date(2024, 5, 6), False, "new", "2"),
        ("42", Decimal("12.50"), None, True, "lost", "2024-01-02"),
    ]


def test_columns_with_the_same_header_keep_their_own_values(world):
    registry, _ = world
    content = _csv("x,x,\nGamma,g@example.com,ignored\nDelta,bad,ignored\n")
    with registry.transaction() as env:
        result = importer.import_file(
            env, "orm.partner", content, "p.csv", mapping=["name", "email", None], dry_run=True
        )
        assert result.errors == [] and result.created == 2
        with pytest.raises(ImportFileError, match='"#3"'):
            importer.import_file(env, "orm.partner", content, "p.csv", mapping=[None, None, "bad"])
        wide = ",".join(f"c{i}" for i in range(501)).encode()
        with pytest.raises(ImportFileError, match="501 columns"):
            importer.preview(env, "orm.partner", wide + b"\n")


def test_xlsx_errors_give_the_spreadsheet_row_number(world):
    registry, _ = world
    content = _xlsx([["name", "partner_id"], ["A", "Acme"], [None, None], ["B", "Ghost"]])
    with registry.transaction() as env:
        result = importer.import_file(env, "orm.order", content, "o.xlsx")
    assert _errors(result) == [(4, "partner_id")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_as_updates_of_the_same_records(world, fmt):
    registry, uid = world
    paths = ["id", "name", "user_id/id", "stage", "expected_revenue", "date_deadline"]
    paths += ["active", "tag_ids/id", "partner_name", "email_from"]
    with registry.transaction() as env:
        tags = env["acc.tag"].search([])
        env["acc.lead"].create(
            [
                {
                    "name": "R1",
                    "user_id": uid["anna"],
                    "stage": "won",
                    "expected_revenue": "1234.50",
                    "date_deadline": datetime.date(2024, 2, 29),
                    "tag_ids": [(6, 0, tags.ids)],
                    "partner_name": "=cmd|' /C calc'!A0",
                    "email_from": "-@example.com",
                },
                {"name": "R2", "user_id": uid["boris"], "active": False},
            ]
        )
        leads = env["acc.lead"].with_context(active_test=False).search([])
        fields = ["name", "user_id", "stage", "expected_revenue", "date_deadline", "active"]
        fields += ["tag_ids", "partner_name", "email_from"]
        before = leads.read(fields)
        content, _mime, filename = export_xlsx.export_records(
            env, "acc.lead", paths, ids=leads.ids, fmt=fmt
        )
    with registry.transaction() as env:
        result = importer.import_file(env, "acc.lead", content, filename)
        after = env["acc.lead"].with_context(active_test=False).search([]).read(fields)
    assert result.errors == [] and (result.created, result.updated) == (0, 2)
    assert after == before


def test_export_by_domain_with_relation_paths(world):
    registry, _ = world
    with registry.transaction() as env:
        acme = env["orm.partner"].search([("name", "=", "Acme")])
        env["orm.order"].create([{"name": "SO1", "partner_id": acme.id}, {"name": "SO2"}])
        content, mime, filename = export_xlsx.export_records(
            env, "orm.order", ["name", "partner_id/email"], domain=[("partner_id", "!=", False)]
        )
    assert filename == "orm.order.csv" and mime.startswith("text/csv")
    assert content.decode("utf-8-sig").splitlines() == [
        "name,partner_id/email",
        "SO1,acme@example.com",
    ]


def test_import_goes_through_the_users_rights(world):
    registry, uid = world
    with registry.transaction(uid=uid["anna"]) as env:
        content = _csv("name,cost\nA,1\n")
        shown = importer.preview(env, "acc.lead", content)
        assert shown["mapping"] == ["name", None]  # a restricted field is not offered
        assert "cost" not in dict(shown["options"])
        with pytest.raises(ImportFileError, match='"cost"'):
            importer.import_file(env, "acc.lead", content, "l.csv", mapping=["name", "cost"])
        result = importer.import_file(
            env, "acc.lead", _csv("name,user_id\nMine,Anna\nHis,Boris\n"), "l.csv"
        )
        assert _errors(result) == [(3, "")]
        assert not result.committed
    with registry.transaction() as env:
        boris_lead = env["acc.lead"].create({"name": "Boris's", "user_id": uid["boris"]})
        env["ir.model.data"].create(
            {"module": "__import__", "name": "b1", "model": "acc.lead", "res_id": boris_lead.id}
        )
    with registry.transaction(uid=uid["anna"]) as env:
        result = importer.import_file(env, "acc.lead", _csv("id,name\nb1,Mine now\n"), "l.csv")
        assert [(e["row"], e["column"], e["message"]) for e in result.errors] == [
            (2, "id", "You may not change this record.")
        ]
    with registry.transaction(uid=uid["anna"]) as env:
        with pytest.raises(AccessError):
            importer.import_file(env, "orm.partner", _csv("name\nX\n"), "p.csv")
        assert env["acc.lead"].sudo().search([]).mapped("name") == ["Boris's"]


def test_the_chosen_mapping_is_remembered_per_user_and_model(world):
    registry, uid = world
    with registry.transaction() as env:
        mappings = env["base_import.mapping"]
        mappings.remember(uid["anna"], "orm.partner", ["Full name", "Mail"], ["name", ""])
        mappings.remember(uid["anna"], "orm.partner", ["Mail"], ["email"])
        content = _csv("Full name,Mail\nGamma,g@example.com\n")
        mine = importer.preview(
            env, "orm.partner", content, saved=mappings.saved(uid["anna"], "orm.partner")
        )
        theirs = importer.preview(
            env, "orm.partner", content, saved=mappings.saved(uid["boris"], "orm.partner")
        )
        other_model = mappings.saved(uid["anna"], "orm.order")
    assert mine["mapping"] == ["name", "email"]
    assert theirs["mapping"] == [None, None]
    assert other_model == {}


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "x.csv", "empty"),
        (b"PK\x03\x04garbage", "x.xlsx", "XLSX"),
        (b"\x00\x01\x02binary", "x.bin", "neither CSV"),
        (b"\n\n", "x.csv", "column names"),
        (b"name\n" + b"x\n" * 3000 + b"a\x00b\n", "x.csv", "Line 3002 holds a NUL"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(world, content, filename, message):
    registry, _ = world
    with registry.transaction() as env, pytest.raises(ImportFileError, match=message):
        importer.preview(env, "orm.partner", content, filename)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1 234,56", "1234.56"),
        ("1\u00a0234\u00a0567,5", "1234567.5"),
        ("1\u202f234.5", "1234.5"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1.234.567", "1234567"),
        ("\u22125,5", "-5.5"),
        ("'-5", "-5"),
        ("12 ₽", "12"),
        (" 7 ", "7"),
    ],
)
def test_numbers_as_spreadsheets_write_them(text, number):
    assert import_values.parse_decimal(text) == Decimal(number)


@pytest.mark.parametrize("text", ["12abc", "1,2,3.4.5", "NaN", "Infinity", "", "--1"])
def test_text_that_is_not_a_number_is_refused(text):
    with pytest.raises(import_values.CellError):
        import_values.parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-02-29", datetime.date(2024, 2, 29)),
        ("29.02.2024", datetime.date(2024, 2, 29)),
        ("1.3.2024", datetime.date(2024, 3, 1)),
        ("2024-03-01 00:00:00", datetime.date(2024, 3, 1)),
    ],
)
def test_dates_in_iso_and_russian_form(text, day):
    assert import_values.parse_date(text) == day


@pytest.mark.parametrize("text", ["29.02.2023", "2024-03-01 10:30", "03/01/2024", "вчера"])
def test_impossible_or_ambiguous_dates_are_refused(text):
    with pytest.raises(import_values.CellError):
        import_values.parse_date(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("да", True), ("Нет", False), ("YES", True), ("no", False), ("1", True), ("0", False)]
    + [("true", True), ("False", False)],
)
def test_yes_and_no_in_both_languages(text, value):
    assert import_values.parse_boolean(text) is value


def test_times_are_read_and_written_in_the_users_time_zone(install):
    registry = install("fx_web")
    content = _csv("name,date_start\nCall,05.03.2024 12:00\nVisit,2024-03-05T12:00:00+00:00\n")
    moscow = {"tz": "Europe/Moscow"}
    with registry.transaction(context=moscow) as env:
        result = importer.import_file(env, "fxw.deal", content, "d.csv")
        assert result.errors == []
        starts = env["fxw.deal"].browse(result.ids).mapped("date_start")
    assert starts == [datetime.datetime(2024, 3, 5, 9, 0), datetime.datetime(2024, 3, 5, 12, 0)]
    with registry.transaction(context=moscow) as env:
        local, _m, _f = export_xlsx.export_records(env, "fxw.deal", ["name", "date_start"])
    with registry.transaction() as env:
        utc, _m, _f = export_xlsx.export_records(env, "fxw.deal", ["name", "date_start"])
    assert local.decode("utf-8-sig").splitlines()[1:] == [
        "Call,2024-03-05 12:00:00",
        "Visit,2024-03-05 15:00:00",
    ]
    assert utc.decode("utf-8-sig").splitlines()[1:] == [
        "Call,2024-03-05 09:00:00",
        "Visit,2024-03-05 12:00:00",
    ]
