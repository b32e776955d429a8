"""The CRM in the web client: the pipeline kanban, lists, the lead and deal forms, reports
as graph and pivot views, searches, the CRM menu, a smart button on the partner's card."""

from core import views as V

OPEN = [("won_status", "=", "pending")]
LOST = [("won_status", "=", "lost")]
IS_LEAD = [("type", "=", "lead")]
IS_OPPORTUNITY = [("type", "=", "opportunity")]
NOT_OPEN_LEAD = ["|", ("type", "=", "opportunity"), ("status", "in", ["converted", "dead"])]
NOT_NEW_LEAD = ["|", ("type", "=", "opportunity"), ("status", "!=", "new")]
NOT_OPEN_DEAL = ["|", ("type", "=", "lead"), ("won_status", "!=", "pending")]
ONLY_DEALS = [("type", "=", "lead")]
ONLY_LEADS = [("type", "=", "opportunity")]

LEAD_FIELDS = ["name", "contact_name", "partner_name", "email_from", "phone"]


def _filters():
    return [
        V.Filter("mine", "My pipeline", [("user_id", "=", "$uid")]),
        V.Filter("unassigned", "Unassigned", [("user_id", "=", False)]),
        V.Filter("open", "Open", OPEN),
        V.Filter("won", "Won", [("won_status", "=", "won")]),
        V.Filter("lost", "Lost", LOST + [("active", "=", False)]),
        V.Filter("new_leads", "New", [("status", "=", "new")]),
        V.Filter("overdue", "Overdue close date", [("date_deadline", "<", "$today")] + OPEN),
        V.Filter("archived", "Archived", [("active", "=", False)]),
    ]


def declarations():
    return [
        # -- deals and leads ---------------------------------------------------------------------
        V.KanbanView(
            "crm.lead",
            group_by="stage_id",
            fields=[
                "name",
                "partner_id",
                "expected_revenue",
                "user_id",
                "date_deadline",
                "tag_ids",
            ],
            sum_field="expected_revenue",
            color="priority",
        ),
        V.ListView(
            "crm.lead",
            [
                "name",
                "partner_id",
                "contact_name",
                "email_from",
                "phone",
                "user_id",
                "stage_id",
                "expected_revenue",
                "probability",
                "date_deadline",
            ],
            sum=["expected_revenue"],
        ),
        V.ListView(
            "crm.lead",
            [*LEAD_FIELDS, "source_id", "user_id", "team_id", "status", "create_date"],
            id="crm.lead.list.leads",
        ),
        V.FormView(
            "crm.lead",
            header=[
                V.Button("action_start", "Start working", invisible=NOT_NEW_LEAD),
                V.Button("action_schedule_activity", "Schedule activity", kind="secondary"),
                V.Button("action_convert", "Convert", invisible=NOT_OPEN_LEAD),
                V.Button("action_set_won", "Mark won", invisible=NOT_OPEN_DEAL),
                V.Button(
                    "action_set_lost",
                    "Mark lost",
                    kind="secondary",
                    invisible=[("won_status", "!=", "pending")],
                ),
                V.Button(
                    "action_restore",
                    "Restore",
                    kind="secondary",
                    invisible=[("won_status", "!=", "lost")],
                ),
            ],
            smart_buttons=[
                V.SmartButton("stage_history", "Stage history", "crm.stage.history", "lead_id"),
                V.SmartButton(
                    "activities",
                    "Activities",
                    "mail.activity",
                    "res_id",
                    domain=[("res_model", "=", "crm.lead")],
                ),
            ],
            body=[
                V.Group(
                    "main",
                    [
                        "name",
                        V.Field("type", readonly=True),
                        V.Field("status", invisible=ONLY_LEADS),
                        "partner_id",
                        "expected_revenue",
                        V.Field("probability", invisible=ONLY_DEALS),
                        "date_deadline",
                        "priority",
                        "tag_ids",
                    ],
                ),
                V.Group(
                    "sales",
                    [
                        "user_id",
                        "team_id",
                        V.Field("stage_user_id", invisible=ONLY_DEALS),
                        V.Field("stage_deadline", invisible=ONLY_DEALS),
                    ],
                    string="Sales",
                ),
                V.Group(
                    "lost",
                    [
                        "lost_reason_id",
                        V.Field("lost_stage_id", invisible=[("won_status", "!=", "lost")]),
                        V.Field("date_lost", invisible=[("won_status", "!=", "lost")]),
                        V.Field("date_won", invisible=[("won_status", "!=", "won")]),
                        V.Field("won_status", readonly=True),
                    ],
                    string="Outcome",
                ),
                V.Group(
                    "converted",
                    [
                        V.Field("converted_partner_id", invisible=[("status", "!=", "converted")]),
                        V.Field("converted_contact_id", invisible=[("status", "!=", "converted")]),
                        V.Field(
                            "converted_opportunity_id", invisible=[("status", "!=", "converted")]
                        ),
                        V.Field("origin_lead_id", invisible=ONLY_DEALS),
                    ],
                    string="Conversion",
                ),
                V.Notebook(
                    "pages",
                    [
                        V.Page("notes", "Notes", ["description"]),
                        V.Page(
                            "contact",
                            "Contact",
                            [*LEAD_FIELDS[1:], "function", "website", "city"],
                        ),
                        V.Page(
                            "marketing",
                            "Marketing",
                            ["source_id", "medium_id", "campaign_id", "referred"],
                        ),
                        V.Page(
                            "history",
                            "Stage history",
                            [
                                V.Field(
                                    "stage_history_ids",
                                    fields=(
                                        "stage_id",
                                        "user_id",
                                        "date_in",
                                        "date_out",
                                        "duration_hours",
                                    ),
                                )
                            ],
                        ),
                    ],
                ),
            ],
        ),
        V.GraphView("crm.lead", groupby=["stage_id"], measure="expected_revenue", chart="funnel"),
        V.GraphView(
            "crm.lead",
            id="crm.lead.graph.sources",
            groupby=["source_id"],
            measure=None,
            chart="bar",
        ),
        V.PivotView(
            "crm.lead",
            rows=["user_id"],
            cols=["stage_id"],
            measures=["expected_revenue"],
        ),
        V.PivotView(
            "crm.lead",
            id="crm.lead.pivot.lost",
            rows=["lost_reason_id"],
            cols=["lost_stage_id"],
            measures=["expected_revenue"],
        ),
        V.SearchView(
            "crm.lead",
            fields=["name", "partner_id", "email_from", "phone", "contact_name", "partner_name"],
            filters=_filters(),
            group_bys=[
                V.GroupBy("stage", "Stage", "stage_id"),
                V.GroupBy("salesman", "Salesman", "user_id"),
                V.GroupBy("team", "Sales team", "team_id"),
                V.GroupBy("source", "Source", "source_id"),
                V.GroupBy("medium", "Medium", "medium_id"),
                V.GroupBy("campaign", "Campaign", "campaign_id"),
                V.GroupBy("lost_reason", "Lost reason", "lost_reason_id"),
                V.GroupBy("created", "Created (month)", "create_date:month"),
                V.GroupBy("close", "Expected closing (month)", "date_deadline:month"),
            ],
        ),
        # -- configuration ----------------------------------------------------------------------
        V.ListView(
            "crm.stage",
            ["sequence", "name", "probability", "is_won", "fold", "user_id", "deadline_days"],
        ),
        V.ListView("crm.team", ["name", "user_id", "assignment_mode", "member_ids"]),
        V.FormView(
            "crm.team",
            body=[
                V.Group("main", ["name", "user_id", "assignment_mode", "sequence", "active"]),
                V.Notebook(
                    "pages",
                    [
                        V.Page("members", "Salesmen", ["member_ids"]),
                        V.Page(
                            "rules",
                            "Assignment rules",
                            [V.Field("rule_ids", fields=("sequence", "name", "user_id"))],
                        ),
                    ],
                ),
            ],
            chatter=False,
        ),
        V.ListView("crm.webform", ["name", "key", "source_id", "team_id", "thanks_url", "active"]),
        V.FormView(
            "crm.webform",
            body=[
                V.Group("main", ["name", "key", "active", "source_id", "team_id", "lead_name"]),
                V.Group(
                    "form",
                    [
                        "required_fields",
                        "honeypot_field",
                        "thanks_url",
                        "rate_limit",
                        "max_body_bytes",
                    ],
                    string="Form",
                ),
            ],
            chatter=False,
        ),
        V.ListView("crm.plan", ["month", "user_id", "amount"], sum=["amount"]),
        V.ListView(
            "crm.stage.history",
            ["lead_id", "stage_id", "user_id", "date_in", "date_out", "duration_hours"],
        ),
        V.PivotView(
            "crm.stage.history", rows=["stage_id"], cols=["user_id"], measures=["duration_hours"]
        ),
        # -- actions -------------------------------------------------------------------------------
        V.Action(
            "crm_leads.action_pipeline",
            "Pipeline",
            "crm.lead",
            views=("kanban", "list", "form", "graph", "pivot"),
            domain=IS_OPPORTUNITY,
            default_filters=("mine",),
            context={"default_type": "opportunity"},
        ),
        V.Action(
            "crm_leads.action_leads",
            "Leads",
            "crm.lead",
            views=("list", "form"),
            domain=IS_LEAD,
            default_filters=("open",),
            context={"default_type": "lead"},
            view_ids={"list": "crm.lead.list.leads"},
        ),
        V.Action(
            "crm_leads.action_report_funnel",
            "Sales funnel",
            "crm.lead",
            views=("graph", "pivot", "list"),
            domain=IS_OPPORTUNITY,
        ),
        V.Action(
            "crm_leads.action_report_sources",
            "Lead sources",
            "crm.lead",
            views=("graph", "list"),
            view_ids={"graph": "crm.lead.graph.sources"},
        ),
        V.Action(
            "crm_leads.action_report_lost",
            "Lost reasons",
            "crm.lead",
            views=("pivot", "list"),
            domain=IS_OPPORTUNITY,
            default_filters=("lost",),
            view_ids={"pivot": "crm.lead.pivot.lost"},
        ),
        V.Action(
            "crm_leads.action_stage_history",
            "Time in stages",
            "crm.stage.history",
            views=("pivot", "list"),
        ),
        V.Action("crm_leads.action_stages", "Stages", "crm.stage"),
        V.Action("crm_leads.action_lost_reasons", "Lost reasons", "crm.lost.reason"),
        V.Action("crm_leads.action_sources", "Sources", "utm.source"),
        V.Action("crm_leads.action_mediums", "Media", "utm.medium"),
        V.Action("crm_leads.action_campaigns", "Campaigns", "utm.campaign"),
        V.Action("crm_leads.action_tags", "Tags", "crm.tag"),
        V.Action("crm_leads.action_teams", "Sales teams", "crm.team"),
        V.Action("crm_leads.action_webforms", "Web forms", "crm.webform"),
        V.Action("crm_leads.action_plans", "Sales plans", "crm.plan"),
        # -- menus ---------------------------------------------------------------------------------
        V.Menu("crm_leads.menu_root", "CRM", sequence=20, icon="funnel"),
        V.Menu(
            "crm_leads.menu_leads",
            "Leads",
            parent="crm_leads.menu_root",
            action="crm_leads.action_leads",
            sequence=1,
        ),
        V.Menu(
            "crm_leads.menu_pipeline",
            "Pipeline",
            parent="crm_leads.menu_root",
            action="crm_leads.action_pipeline",
            sequence=2,
        ),
        V.Menu("crm_leads.menu_reports", "Reports", parent="crm_leads.menu_root", sequence=50),
        V.Menu(
            "crm_leads.menu_report_funnel",
            "Sales funnel",
            parent="crm_leads.menu_reports",
            action="crm_leads.action_report_funnel",
            sequence=1,
        ),
        V.Menu(
            "crm_leads.menu_report_sources",
            "Lead sources",
            parent="crm_leads.menu_reports",
            action="crm_leads.action_report_sources",
            sequence=2,
        ),
        V.Menu(
            "crm_leads.menu_report_lost",
            "Lost reasons",
            parent="crm_leads.menu_reports",
            action="crm_leads.action_report_lost",
            sequence=3,
        ),
        V.Menu(
            "crm_leads.menu_report_stages",
            "Time in stages",
            parent="crm_leads.menu_reports",
            action="crm_leads.action_stage_history",
            sequence=4,
        ),
        V.Menu(
            "crm_leads.menu_report_plans",
            "Sales plans",
            parent="crm_leads.menu_reports",
            action="crm_leads.action_plans",
            sequence=5,
        ),
        V.Menu("crm_leads.menu_config", "Configuration", parent="crm_leads.menu_root", sequence=90),
        *[
            V.Menu(
                f"crm_leads.menu_config_{name}",
                string,
                parent="crm_leads.menu_config",
                action=f"crm_leads.action_{name}",
                sequence=index,
            )
            for index, (name, string) in enumerate(
                [
                    ("stages", "Stages"),
                    ("lost_reasons", "Lost reasons"),
                    ("sources", "Sources"),
                    ("mediums", "Media"),
                    ("campaigns", "Campaigns"),
                    ("tags", "Tags"),
                    ("teams", "Sales teams"),
                    ("webforms", "Web forms"),
                    ("plans", "Sales plans"),
                ],
                start=1,
            )
        ],
        # -- the partner's card: its deals --------------------------------------------------------
        V.Patch(
            "res.partner.form",
            [
                V.SmartButton(
                    "opportunities",
                    "Opportunities",
                    "crm.lead",
                    "partner_id",
                    action="crm_leads.action_pipeline",
                )
            ],
            inside="smart_buttons",
        ),
    ]
