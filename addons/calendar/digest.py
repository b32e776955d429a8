"""The daily digest: each user gets an e-mail with today's and overdue activities.

A periodic job runs every five minutes. A user is due once his local time (``res.users.tz``)
has passed his company's digest time (``res.company.activity_digest_time``, 08:00 by
default) and he has not had a digest for his local today yet; so a worker that was down at
08:00 still sends the digest when it comes back, once. Users with nothing to do get no
e-mail. All due users are handled with a few queries, and their e-mails are created in one
batch and queued for sending after the commit.
"""

from __future__ import annotations

import datetime
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from huey import crontab
from markupsafe import escape

from core import Job, Model, fields, tr, utcnow

_logger = logging.getLogger(__name__)
DEFAULT_TIME = 8.0  # 08:00


class Company(Model):
    _inherit = "res.company"

    activity_digest_time = fields.Float(
        "Daily digest at",
        default=DEFAULT_TIME,
        help="Local time of each user, in hours: 8.5 is 08:30",
    )


class Users(Model):
    _inherit = "res.users"

    activity_digest = fields.Boolean(
        "Daily digest of activities", default=True, help="An e-mail every morning"
    )
    activity_digest_last = fields.Date("Last digest for", readonly=True, copy=False)


def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due_users(env, now):
    """``{user: local date}`` of the users whose digest is due at ``now`` (naive UTC)."""
    users = (
        env["res.users"]
        .sudo()
        .search([("activity_digest", "=", True), ("email", "!=", False), ("id", "!=", 1)])
    )
    aware = now.replace(tzinfo=datetime.UTC)
    due = {}
    for user in users:
        local = aware.astimezone(_zone(user.tz))
        hours = user.company_id.activity_digest_time if user.company_id else DEFAULT_TIME
        hours = DEFAULT_TIME if hours is None else min(max(hours, 0.0), 23.99)
        at = datetime.time(int(hours), int(round((hours % 1) * 60)) % 60)
        last = user.activity_digest_last
        if local.time() >= at and (last is None or last < local.date()):
            due[user] = local.date()
    return due


def send_digests(env, now=None):
    """Create and queue the digests due at ``now`` (ISO text, naive UTC; default: now)."""
    now = datetime.datetime.fromisoformat(now) if now else utcnow()
    env = env.sudo()
    due = due_users(env, now)
    if not due:
        return 0
    last_day = max(due.values())
    activities = env["mail.activity"].search(
        [
            ("user_id", "in", [u.id for u in due]),
            ("done", "=", False),
            ("date_deadline", "<=", last_day),
        ],
        order="date_deadline, id",
    )
    # Plain rows (read() names the related records in bulk): tens of thousands of
    # activities go through this loop each morning.
    rows = activities.read(
        ["user_id", "date_deadline", "summary", "res_name", "activity_type_id", "create_uid"]
    )
    by_user = {}
    for row in rows:
        by_user.setdefault(row["user_id"][0], []).append(row)
    birthdays = _birthdays(env, due)
    meetings = _meetings(env, due)
    mails = []
    for user, day in due.items():
        mine = [a for a in by_user.get(user.id, ()) if a["date_deadline"] <= day]
        people = [p for p in birthdays.get(user.id, ()) if p["birthday"][5:] == f"{day:%m-%d}"]
        events = meetings.get(user.id, [])
        if mine or people or events:
            user_env = env.with_context(lang=user.lang)
            mails.append(_mail(user_env, user, day, mine, people, events))
    if mails:
        env["mail.mail"].create(mails).send()
    by_day = {}
    for user, day in due.items():
        by_day.setdefault(day, []).append(user.id)
    for day, ids in by_day.items():
        env["res.users"].browse(ids).write({"activity_digest_last": day})
    _logger.info("activity digests: %s sent, %s users due", len(mails), len(due))
    return len(mails)


def _birthdays(env, due) -> dict:
    """``{user id: [person rows]}``: contact persons of the users' partners whose birthday
    falls on the users' local today (one query for every user)."""
    days = sorted({f"{day:%m-%d}" for day in due.values()})
    people = env["res.partner"].search(
        [
            ("birthday_md", "in", days),
            ("is_company", "=", False),
            ("user_id", "in", [u.id for u in due]),
        ],
        order="name",
    )
    result = {}
    for row in people.read(["display_name", "birthday", "user_id"]):
        row["birthday"] = row["birthday"].isoformat()
        result.setdefault(row["user_id"][0], []).append(row)
    return result


def _local_day(user, day):
    """The user's local ``day`` as naive UTC ``(start, end)``."""
    zone = _zone(user.tz)
    start = datetime.datetime.combine(day, datetime.time(0), zone)
    end = start + datetime.timedelta(days=1)
    return tuple(t.astimezone(datetime.UTC).replace(tzinfo=None) for t in (start, end))


def _meetings(env, due) -> dict:
    """``{user id: [(local start, local end, event row)]}``: planned events of the users'
    local today that they organise or attend (one query for every user)."""
    windows = {user: _local_day(user, day) for user, day in due.items()}
    ids = [u.id for u in due]
    events = env["calendar.event"].search(
        [
            ("state", "=", "planned"),
            ("start", "<", max(w[1] for w in windows.values())),
            ("stop", ">=", min(w[0] for w in windows.values())),
            "|",
            ("user_id", "in", ids),
            ("attendee_user_ids", "in", ids),
        ],
        order="start, id",
    )
    rows = events.read(
        ["name", "start", "stop", "location", "allday", "user_id", "attendee_user_ids"]
    )
    result = {}
    for user, (start, end) in windows.items():
        zone = _zone(user.tz)
        for row in rows:
            attends = row["user_id"][0] == user.id or user.id in row["attendee_user_ids"]
            if attends and row["start"] < end and row["stop"] >= start:
                local = [
                    t.replace(tzinfo=datetime.UTC).astimezone(zone)
                    for t in (row["start"], row["stop"])
                ]
                result.setdefault(user.id, []).append((*local, row))
    return result


def _mail(env, user, day, activities, people=(), meetings=()) -> dict:
    overdue = [a for a in activities if a["date_deadline"] < day]
    today = [a for a in activities if a["date_deadline"] == day]
    subject = tr(
        env,
        "Activities for %(date)s: %(today)s today, %(overdue)s overdue",
        date=day.strftime("%d.%m.%Y"),
        today=len(today),
        overdue=len(overdue),
    )
    text, html = [subject, ""], [f"<p><b>{escape(subject)}</b></p>"]
    for title, group in (("Overdue", overdue), ("Today", today)):
        if not group:
            continue
        heading = tr(env, title)
        text.append(f"{heading}:")
        html.append(f"<h3>{escape(heading)}</h3><ul>")
        for activity in group:
            line = _line(env, user, activity)
            text.append(f"- {line}")
            html.append(f"<li>{escape(line)}</li>")
        text.append("")
        html.append("</ul>")
    if meetings:
        heading = tr(env, "Meetings today")
        text.append(f"{heading}:")
        html.append(f"<h3>{escape(heading)}</h3><ul>")
        for start, stop, event in meetings:
            when = tr(env, "all day") if event["allday"] else f"{start:%H:%M}–{stop:%H:%M}"
            line = f"{when} {event['name']}"
            if event["location"]:
                line += f" ({event['location']})"
            text.append(f"- {line}")
            html.append(f"<li>{escape(line)}</li>")
        text.append("")
        html.append("</ul>")
    if people:
        heading = tr(env, "Birthdays today")
        text.append(f"{heading}:")
        html.append(f"<h3>{escape(heading)}</h3><ul>")
        for person in people:
            years = day.year - int(person["birthday"][:4])
            line = tr(env, "%(name)s turns %(years)s", name=person["display_name"], years=years)
            text.append(f"- {line}")
            html.append(f"<li>{escape(line)}</li>")
        text.append("")
        html.append("</ul>")
    return {
        "email_to": user.email,
        "subject": subject,
        "body_text": "\n".join(text),
        "body_html": "\n".join(html),
        "res_model": "res.users",
        "res_id": user.id,
    }


def _line(env, user, activity) -> str:
    kind = activity["activity_type_id"]
    parts = [
        activity["date_deadline"].strftime("%d.%m.%Y"),
        tr(env, kind[1] or "") if kind else "",
        activity["summary"] or "",
    ]
    if activity["res_name"]:
        parts.append(f"({activity['res_name']})")
    line = " ".join(p for p in parts if p)
    author = activity["create_uid"]
    if author and author[0] not in (user.id, 1):
        line += " " + tr(env, "[set by %(name)s]", name=author[1])
    return line


JOBS = [
    Job(
        "calendar.activity_digest",
        send_digests,
        periodic=crontab(minute="*/5"),
    )
]
