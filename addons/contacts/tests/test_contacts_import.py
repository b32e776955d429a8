"""Importing partners from a file: duplicates of existing cards are reported on their row and
column, naming the card; with skip_errors the other rows are created."""

from core import import_file

CSV = """name,vat,phone,email
ООО «Новый клиент»,7704217370,+7 495 000-00-01,new@client.ru
ООО «Ромашка» (дубль),7707083893,,
ИП Сидоров,,,sidorov@mail.ru
ООО «Вектор» (дубль),,8 (812) 555-01-02,
""".encode()


def _existing(registry):
    with registry.transaction() as env:
        Partner = env["res.partner"]
        romashka = Partner.create({"name": "ООО «Ромашка»", "vat": "7707083893"})
        vector = Partner.create({"name": "ООО «Вектор»", "phone": "+7 812 555 01 02"})
        return romashka, vector


def test_duplicates_in_an_import_are_reported_by_row_and_nothing_is_written(contacts):
    romashka, vector = _existing(contacts)
    with contacts.transaction() as env:
        result = import_file(env, "res.partner", CSV, "partners.csv")
    assert not result.committed
    errors = {(e["row"], e["column"]): e["message"] for e in result.errors}
    assert set(errors) == {(3, "vat"), (5, "phone")}
    assert f"#{romashka.id} ООО «Ромашка»" in errors[(3, "vat")]
    assert f"#{vector.id} ООО «Вектор»" in errors[(5, "phone")]
    env = contacts.env(su=True)
    assert env["res.partner"].search_count([]) == 2


def test_skip_errors_creates_the_rows_that_are_not_duplicates(contacts):
    _existing(contacts)
    with contacts.transaction() as env:
        result = import_file(env, "res.partner", CSV, "partners.csv", skip_errors=True)
    assert (result.created, result.failed_rows) == (2, 2)
    env = contacts.env(su=True)
    created = env["res.partner"].browse(result.ids)
    assert sorted(created.mapped("name")) == ["ИП Сидоров", "ООО «Новый клиент»"]
