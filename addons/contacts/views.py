"""How partners, tags and bank accounts look in the web client; the Contacts menu.

The partner form has an empty ``smart_buttons`` row and a ``pages`` notebook: other addons
add their buttons (deals, orders, invoices, calls) and tabs there with ``V.Patch``.
"""

from core import views as V

COMPANY_ONLY = [("is_company", "=", False)]
PERSON_ONLY = [("is_company", "=", True)]


def declarations():
    return [
        V.ListView(
            "res.partner",
            ["display_name", "function", "phone", "email", "city", "vat", "user_id", "category_id"],
        ),
        V.FormView(
            "res.partner",
            smart_buttons=[],
            body=[
                V.Group(
                    "main",
                    [
                        "name",
                        "is_company",
                        V.Field("parent_id", invisible=PERSON_ONLY),
                        V.Field("function", invisible=PERSON_ONLY),
                        "category_id",
                        "user_id",
                    ],
                ),
                V.Group(
                    "contact",
                    [
                        "phone",
                        "mobile",
                        "email",
                        "website",
                        V.Field("birthday", invisible=PERSON_ONLY),
                    ],
                    string="Phones and e-mail",
                ),
                V.Group(
                    "address",
                    ["street", "street2", "city", "zip", "state_name", "country_name"],
                    string="Address",
                ),
                V.Group(
                    "tax",
                    ["vat", V.Field("kpp", invisible=COMPANY_ONLY), "company_registry"],
                    string="Tax ids",
                ),
                V.Notebook(
                    "pages",
                    [
                        V.Page(
                            "contacts",
                            "Contact persons",
                            [
                                V.Field(
                                    "child_ids",
                                    fields=("name", "function", "phone", "mobile", "email"),
                                )
                            ],
                        ),
                        V.Page(
                            "bank",
                            "Bank accounts",
                            [
                                V.Field(
                                    "bank_ids",
                                    fields=(
                                        "acc_number",
                                        "bank_name",
                                        "bank_bic",
                                        "bank_corr_account",
                                    ),
                                )
                            ],
                        ),
                        V.Page(
                            "sales",
                            "Sales and purchases",
                            ["customer_rank", "supplier_rank", "ref", "lang", "company_id"],
                        ),
                        V.Page("notes", "Notes", ["comment"]),
                    ],
                ),
            ],
        ),
        V.SearchView(
            "res.partner",
            fields=["name", "email", "vat", "phone", "category_id"],
            filters=[
                V.Filter("my", "My contacts", [("user_id", "=", "$uid")]),
                V.Filter("unassigned", "Without a salesperson", [("user_id", "=", False)]),
                V.Filter("companies", "Companies", [("is_company", "=", True)]),
                V.Filter("persons", "Persons", [("is_company", "=", False)]),
                V.Filter("customers", "Customers", [("customer_rank", ">", 0)]),
                V.Filter("suppliers", "Suppliers", [("supplier_rank", ">", 0)]),
                # child_of by name: "Partners" also matches "Partners / Gold" and below.
                V.Filter(
                    "tag_partners",
                    "Tag: Partners (all levels)",
                    [("category_id", "child_of", "Partners")],
                ),
                V.Filter("archived", "Archived", [("active", "=", False)]),
            ],
            group_bys=[
                V.GroupBy("salesperson", "Salesperson", "user_id"),
                V.GroupBy("company", "Company", "parent_id"),
                V.GroupBy("city", "City", "city"),
            ],
        ),
        V.ListView("res.partner.category", ["complete_name", "color", "active"]),
        V.FormView(
            "res.partner.category",
            body=[V.Group("main", ["name", "parent_id", "color", "active"])],
            chatter=False,
        ),
        V.ListView(
            "res.partner.bank", ["partner_id", "acc_number", "bank_name", "bank_bic", "currency_id"]
        ),
        V.Action(
            "contacts.action_partners",
            "Contacts",
            "res.partner",
            views=("list", "form"),
            default_filters=("companies",),
        ),
        V.Action("contacts.action_tags", "Contact tags", "res.partner.category"),
        V.Action("contacts.action_banks", "Bank accounts", "res.partner.bank"),
        V.Menu("contacts.menu_root", "Contacts", sequence=10, icon="users"),
        V.Menu(
            "contacts.menu_partners",
            "Contacts",
            parent="contacts.menu_root",
            action="contacts.action_partners",
            sequence=1,
        ),
        V.Menu("contacts.menu_config", "Configuration", parent="contacts.menu_root", sequence=90),
        V.Menu(
            "contacts.menu_tags",
            "Contact tags",
            parent="contacts.menu_config",
            action="contacts.action_tags",
        ),
        V.Menu(
            "contacts.menu_banks",
            "Bank accounts",
            parent="contacts.menu_config",
            action="contacts.action_banks",
            sequence=20,
        ),
    ]
