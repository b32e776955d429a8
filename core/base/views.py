"""Base's menus: the Settings area (users, groups, rights, custom fields, company data)."""

from core.orm import views as V

SETTINGS = (
    ("users", "Users", "res.users", 10),
    ("groups", "Groups", "res.groups", 20),
    ("access", "Access rights", "ir.model.access", 30),
    ("rules", "Record rules", "ir.rule", 40),
    ("custom_fields", "Custom fields", "ir.model.fields", 50),
    ("companies", "Companies", "res.company", 60),
    ("currencies", "Currencies", "res.currency", 70),
    ("sequences", "Sequences", "ir.sequence", 80),
    ("saved_views", "Saved views", "ir.filters", 90),
    ("api_keys", "API keys", "res.users.apikey", 100),
    ("webhooks", "Webhooks", "ir.webhook", 110),
    ("webhook_log", "Webhook deliveries", "ir.webhook.delivery", 120),
    ("mail_queue", "Outgoing mail", "mail.mail", 130),
)


def declarations():
    items = [V.Menu("base.menu_settings", "Settings", sequence=900, icon="settings")]
    admin = ("base.group_system",)
    items += [
        V.Menu(
            "base.menu_addons",
            "Addons",
            "base.menu_settings",
            None,
            5,
            None,
            "/web/settings/addons",
            admin,
        ),
        V.Menu(
            "base.menu_copy_rights",
            "Copy rights",
            "base.menu_settings",
            None,
            15,
            None,
            "/web/settings/copy-rights",
            admin,
        ),
        V.Menu(
            "base.menu_my_api_keys",
            "My API keys",
            "base.menu_settings",
            None,
            95,
            None,
            "/web/settings/api-keys",
        ),
        V.Menu(
            "base.menu_my_sessions",
            "My sessions",
            "base.menu_settings",
            None,
            96,
            None,
            "/web/settings/sessions",
        ),
        # Everyone's sessions, for administrators (users see their own under My sessions).
        V.Action(
            "base.action_sessions", "Web sessions", "res.users.session", views=("list", "form")
        ),
        V.Menu(
            "base.menu_sessions",
            "Web sessions",
            "base.menu_settings",
            "base.action_sessions",
            105,
            groups=admin,
        ),
        V.ListView(
            "res.users.session",
            ["user_id", "create_date", "last_seen", "ip", "user_agent", "active"],
        ),
        V.FormView(
            "res.users.session",
            header=[
                V.Button(
                    "action_revoke",
                    "End session",
                    invisible=[("active", "=", False)],
                    confirm="Sign this session out?",
                )
            ],
            body=[
                V.Group(
                    "main", ["user_id", "create_date", "last_seen", "ip", "user_agent", "active"]
                )
            ],
            chatter=False,
        ),
    ]
    for key, title, model, sequence in SETTINGS:
        items.append(V.Action(f"base.action_{key}", title, model, views=("list", "form")))
        items.append(
            V.Menu(
                f"base.menu_{key}",
                title,
                parent="base.menu_settings",
                action=f"base.action_{key}",
                sequence=sequence,
            )
        )
    items.append(
        V.ListView("res.users", ["name", "login", "email", "lang", "company_id", "active"])
    )
    items.append(
        V.FormView(
            "res.users",
            header=[
                V.Button(
                    "action_end_sessions",
                    "End all sessions",
                    kind="secondary",
                    confirm="Sign this user out everywhere?",
                )
            ],
            smart_buttons=[
                V.SmartButton(
                    "sessions",
                    "Sessions",
                    "res.users.session",
                    "user_id",
                    action="base.action_sessions",
                )
            ],
            body=[
                V.Group("main", ["name", "login", "email", "lang", "tz", "company_id", "active"]),
                V.Notebook(
                    "pages",
                    [
                        V.Page("groups", "Groups", ["groups_id"]),
                        V.Page("companies", "Allowed companies", ["company_ids"]),
                    ],
                ),
            ],
        )
    )
    return items
