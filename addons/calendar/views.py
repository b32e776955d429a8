"""Activities and events in the web client: lists, forms, the calendar, the Activities menu,
a smart button and a tab on the partner's card, the digest settings, a dashboard widget."""

import datetime

from core import views as V

NOT_DONE = [("done", "=", False)]
DONE = [("done", "=", True)]


def declarations():
    return [
        # -- activities ---------------------------------------------------------------------------
        V.ListView(
            "mail.activity",
            [
                "date_deadline",
                "activity_type_id",
                "summary",
                "res_name",
                "partner_id",
                "user_id",
                "state",
                "task_state",
            ],
        ),
        V.FormView(
            "mail.activity",
            header=[
                V.Button("action_done", "Mark done", invisible=DONE),
                V.Button(
                    "action_done_schedule_next",
                    "Done and schedule next",
                    kind="secondary",
                    invisible=DONE,
                ),
            ],
            body=[
                V.Group(
                    "main",
                    [
                        "activity_type_id",
                        "summary",
                        "date_deadline",
                        "user_id",
                        V.Field("user_ids", invisible=DONE),
                        "partner_id",
                        V.Field("res_name", readonly=True),
                        "state",
                    ],
                ),
                V.Group(
                    "task",
                    [V.Field("task_state", invisible=[("activity_category", "!=", "task")])],
                    string="Task",
                ),
                V.Group(
                    "outcome",
                    [
                        V.Field("result", required=False),
                        V.Field("date_done", invisible=NOT_DONE),
                    ],
                    string="Result",
                ),
                V.Notebook("pages", [V.Page("note", "Note", ["note"])]),
            ],
        ),
        V.CalendarView(
            "mail.activity",
            date_start="date_deadline",
            color="activity_type_id",
            fields=["summary", "res_name", "user_id"],
        ),
        V.SearchView(
            "mail.activity",
            fields=["summary", "res_name", "partner_id", "user_id"],
            filters=[
                V.Filter("my", "My activities", [("user_id", "=", "$uid")]),
                V.Filter(
                    "set_by_me",
                    "Set by me for colleagues",
                    [("create_uid", "=", "$uid"), ("user_id", "!=", "$uid")],
                ),
                V.Filter("overdue", "Overdue", [*NOT_DONE, ("date_deadline", "<", "$today")]),
                V.Filter("today", "Today", [*NOT_DONE, ("date_deadline", "=", "$today")]),
                V.Filter("planned", "Planned", [*NOT_DONE, ("date_deadline", ">", "$today")]),
                V.Filter("open", "Not done", NOT_DONE),
                V.Filter("done", "Done", DONE),
                V.Filter("calls", "Calls", [("activity_category", "=", "call")]),
                V.Filter("meetings", "Meetings", [("activity_category", "=", "meeting")]),
                V.Filter("tasks", "Tasks", [("activity_category", "=", "task")]),
            ],
            group_bys=[
                V.GroupBy("type", "Activity type", "activity_type_id"),
                V.GroupBy("user", "Assigned to", "user_id"),
                V.GroupBy("deadline", "Due date", "date_deadline"),
                V.GroupBy("task_state", "Task status", "task_state"),
            ],
        ),
        V.GraphView("mail.activity", groupby=["user_id"], chart="bar"),
        V.PivotView("mail.activity", rows=["user_id"], cols=["activity_type_id"]),
        V.ListView(
            "mail.activity",
            ["date_deadline", "summary", "res_name", "partner_id", "user_id", "task_state"],
            id="mail.activity.list_tasks",
        ),
        V.ListView("mail.activity.type", ["name", "category", "summary", "delay_count", "active"]),
        # -- events -----------------------------------------------------------------------------
        V.ListView(
            "calendar.event",
            ["start", "stop", "name", "location", "user_id", "partner_ids", "state"],
        ),
        V.FormView(
            "calendar.event",
            header=[
                V.Button("action_mark_held", "Held", invisible=[("state", "!=", "planned")]),
                V.Button(
                    "action_mark_not_held",
                    "Not held",
                    kind="secondary",
                    invisible=[("state", "!=", "planned")],
                ),
            ],
            body=[
                V.Group("main", ["name", "start", "stop", "allday", "location", "user_id"]),
                V.Group("people", ["partner_ids", "attendee_user_ids"], string="Attendees"),
                V.Notebook(
                    "pages",
                    [
                        V.Page("description", "Description", ["description"]),
                        V.Page("result", "Result", ["result"]),
                    ],
                ),
            ],
        ),
        V.CalendarView(
            "calendar.event",
            date_start="start",
            date_stop="stop",
            color="user_id",
            fields=["name", "location", "partner_ids"],
        ),
        V.SearchView(
            "calendar.event",
            fields=["name", "location", "partner_ids"],
            filters=[
                V.Filter("mine", "My events", [("user_id", "=", "$uid")]),
                V.Filter("attending", "I attend", [("attendee_user_ids", "in", ["$uid"])]),
                V.Filter("planned", "Planned", [("state", "=", "planned")]),
                V.Filter("held", "Held", [("state", "=", "held")]),
            ],
            group_bys=[
                V.GroupBy("organiser", "Organiser", "user_id"),
                V.GroupBy("status", "Status", "state"),
            ],
        ),
        # -- the partner's card and the user's preferences --------------------------------------
        V.Patch(
            "res.partner.form",
            [V.SmartButton("activities", "Activities", "mail.activity", "partner_id")],
            inside="smart_buttons",
        ),
        V.Patch(
            "res.partner.form",
            [V.SmartButton("meetings", "Meetings", "calendar.event", "partner_ids")],
            inside="smart_buttons",
        ),
        V.Patch(
            "res.partner.form",
            [
                V.Page(
                    "activities",
                    "Activities",
                    [
                        V.Field(
                            "activity_ids",
                            fields=(
                                "date_deadline",
                                "activity_type_id",
                                "summary",
                                "user_id",
                                "state",
                                "result",
                            ),
                        )
                    ],
                )
            ],
            before="bank",
        ),
        V.Patch("res.users.form", ["activity_digest"], after="tz"),
        # -- actions and menus ------------------------------------------------------------------
        V.Action(
            "calendar.action_my_activities",
            "My activities",
            "mail.activity",
            views=("list", "calendar", "form", "graph", "pivot"),
            default_filters=("my", "open"),
        ),
        V.Action(
            "calendar.action_tasks",
            "Tasks",
            "mail.activity",
            views=("list", "form"),
            domain=[("activity_category", "=", "task")],
            default_filters=("open",),
            default_group_by="task_state",
            view_ids={"list": "mail.activity.list_tasks"},
        ),
        V.Action(
            "calendar.action_events",
            "Calendar",
            "calendar.event",
            views=("calendar", "list", "form"),
        ),
        V.Action("calendar.action_activity_types", "Activity types", "mail.activity.type"),
        V.Menu("calendar.menu_root", "Activities", sequence=15, icon="calendar"),
        V.Menu(
            "calendar.menu_my_activities",
            "My activities",
            parent="calendar.menu_root",
            action="calendar.action_my_activities",
            sequence=1,
        ),
        V.Menu(
            "calendar.menu_tasks",
            "Tasks",
            parent="calendar.menu_root",
            action="calendar.action_tasks",
            sequence=2,
        ),
        V.Menu(
            "calendar.menu_events",
            "Calendar",
            parent="calendar.menu_root",
            action="calendar.action_events",
            sequence=3,
        ),
        V.Menu(
            "calendar.menu_activity_types",
            "Activity types",
            parent="calendar.menu_root",
            action="calendar.action_activity_types",
            sequence=90,
        ),
    ]


def my_day(env):
    """Dashboard: my overdue and today's activities, nearest first (rules apply: the user's)."""
    today = datetime.date.today()
    activities = env["mail.activity"].search(
        [("user_id", "=", env.uid), ("done", "=", False), ("date_deadline", "<=", today)],
        limit=10,
    )
    names = activities.read(["summary", "date_deadline", "res_name"])
    return {
        "kind": "list",
        "items": [
            {
                "label": row["summary"],
                "url": f"/web/mail.activity/{row['id']}",
                "note": " ".join(
                    p for p in (row["date_deadline"].strftime("%d.%m.%Y"), row["res_name"]) if p
                ),
            }
            for row in names
        ],
    }


def widgets():
    return [V.Widget("calendar.my_day", "My activities for today", my_day, sequence=5)]
