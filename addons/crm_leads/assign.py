"""Who gets a new lead: the team's assignment mode (manual, round robin, least loaded, rules).

Leads are assigned in batches, in ``crm.lead.create`` (on arrival) and by ``action_assign``
(bulk reassignment from the list). A lead created without a salesman goes to its team, or
to the team of its source; the team's mode chooses the salesman:

- ``manual``: nobody; a manager assigns it from the list.
- ``round_robin``: the team's members in turn (ordered by user id). The turn counter lives
  in the team's row and is advanced with one ``UPDATE ... RETURNING`` per batch, so two
  server processes never hand out the same turn (the row lock on PostgreSQL, the write lock
  on SQLite, serialise them).
- ``least_loaded``: the member with the fewest open leads and deals (one grouped count).
- ``rules``: the first rule whose domain matches the lead (one search per rule and batch);
  leads no rule matches stay unassigned.

A lead entered by a salesman without naming one is the salesman's own, as in Odoo; trusted
code (web forms, mail, telephony run as the system) gets the team's assignment.
"""

from __future__ import annotations

import heapq

# Leads and deals someone is still working on: what "load" counts.
OPEN_DOMAIN = [
    "&",
    ("won_status", "=", "pending"),
    "|",
    ("type", "=", "opportunity"),
    ("status", "in", ["new", "in_progress"]),
]


def prepare_create(env, vals_list):
    """Fill in team and salesman of leads about to be created (round robin, least loaded)."""
    _teams_from_sources(env, vals_list)
    if not env.is_superuser():
        for vals in vals_list:
            if "user_id" not in vals:
                vals["user_id"] = env.uid
    pending = [
        (index, vals["team_id"])
        for index, vals in enumerate(vals_list)
        if not vals.get("user_id") and vals.get("team_id")
    ]
    if not pending:
        return
    teams = _teams(env, {team for _i, team in pending})
    by_team = {}
    for index, team in pending:
        by_team.setdefault(team, []).append(index)
    for team_id, indexes in by_team.items():
        team = teams.get(team_id)
        if team is None or team["mode"] not in ("round_robin", "least_loaded"):
            continue
        users = _choose(env, team, len(indexes))
        for index, user in zip(indexes, users, strict=True):
            if user:
                vals_list[index]["user_id"] = user


def after_create(env, records, vals_list):
    """Assign the new leads of teams working by rules (their domains need stored records)."""
    pending = [
        (id_, vals["team_id"])
        for id_, vals in zip(records.ids, vals_list, strict=True)
        if not vals.get("user_id") and vals.get("team_id")
    ]
    if not pending:
        return
    teams = _teams(env, {team for _i, team in pending})
    by_team = {}
    for id_, team in pending:
        if teams.get(team, {}).get("mode") == "rules":
            by_team.setdefault(team, []).append(id_)
    for team_id, ids in by_team.items():
        _write_grouped(records.sudo(), _by_rules(env, team_id, ids))


def reassign(leads):
    """Assign the leads again by their teams' modes (leads of manual teams are left alone)."""
    teams = _teams(leads.env, {lead.team_id.id for lead in leads if lead.team_id})
    by_team = {}
    for lead in leads:
        if lead.team_id and lead.team_id.id in teams:
            by_team.setdefault(lead.team_id.id, []).append(lead.id)
    for team_id, ids in by_team.items():
        team = teams[team_id]
        if team["mode"] == "rules":
            chosen = _by_rules(leads.env, team_id, ids)
        elif team["mode"] in ("round_robin", "least_loaded"):
            chosen = dict(zip(ids, _choose(leads.env, team, len(ids)), strict=True))
        else:
            continue
        _write_grouped(leads, chosen)


# -- the modes --------------------------------------------------------------------------------------------


def _choose(env, team, count) -> list:
    members = team["members"]
    if not members:
        return [None] * count
    if team["mode"] == "round_robin":
        first = take_turns(env, team["id"], count)
        return [members[(first + i) % len(members)] for i in range(count)]
    return _least_loaded(env, team, count)


def take_turns(env, team_id, count) -> int:
    """Reserve ``count`` round robin turns of a team; returns the number of the first one."""
    db = env.db
    cursor = db.execute_sql(
        f"UPDATE crm_team SET rr_counter = COALESCE(rr_counter, 0) + {db.param} "
        f"WHERE id = {db.param} RETURNING rr_counter",
        (count, team_id),
    )
    after = cursor.fetchone()[0]
    env.state.cache.get(env["crm.team"]._fields["rr_counter"], {}).pop(team_id, None)
    return after - count


def _least_loaded(env, team, count) -> list:
    # Serialise concurrent assignments for this team (row lock / write lock): two processes
    # counting at once would both pick the same least loaded salesman.
    take_turns(env, team["id"], 0)
    members = team["members"]
    groups = (
        env["crm.lead"]
        .sudo()
        .read_group(OPEN_DOMAIN + [("user_id", "in", members)], ["user_id"], ["__count"])
    )
    loads = {row["user_id"][0]: row["__count"] for row in groups if row["user_id"]}
    heap = [(loads.get(user, 0), user) for user in members]
    heapq.heapify(heap)
    chosen = []
    for _ in range(count):
        load, user = heapq.heappop(heap)
        chosen.append(user)
        heapq.heappush(heap, (load + 1, user))
    return chosen


def _by_rules(env, team_id, ids) -> dict:
    rules = env["crm.assignment.rule"].sudo().search([("team_id", "=", team_id)])
    Lead = env["crm.lead"].sudo().with_context(active_test=False)
    left = set(ids)
    chosen = {}
    for rule in rules:
        if not left:
            break
        if not rule.user_id.active:
            continue
        matched = Lead.search(list(rule.domain or []) + [("id", "in", sorted(left))]).ids
        for id_ in matched:
            chosen[id_] = rule.user_id.id
        left.difference_update(matched)
    return chosen


# -- helpers ------------------------------------------------------------------------------------------------


def _teams_from_sources(env, vals_list):
    sources = {v["source_id"] for v in vals_list if v.get("source_id") and not v.get("team_id")}
    if not sources:
        return
    rows = (
        env["utm.source"].sudo().with_context(active_test=False).browse(sources).read(["team_id"])
    )
    team_of = {row["id"]: row["team_id"][0] for row in rows if row["team_id"]}
    for vals in vals_list:
        if not vals.get("team_id") and vals.get("source_id") in team_of:
            vals["team_id"] = team_of[vals["source_id"]]


def _teams(env, team_ids) -> dict:
    """``{id: {id, mode, members}}``: active members ordered by id, read in two queries."""
    team_ids = {int(t) for t in team_ids if t}
    if not team_ids:
        return {}
    teams = env["crm.team"].sudo().browse(team_ids).read(["assignment_mode", "member_ids"])
    member_ids = {m for row in teams for m in row["member_ids"]}
    active = set(env["res.users"].sudo().search([("id", "in", sorted(member_ids))]).ids)
    return {
        row["id"]: {
            "id": row["id"],
            "mode": row["assignment_mode"] or "manual",
            "members": sorted(m for m in row["member_ids"] if m in active),
        }
        for row in teams
    }


def _write_grouped(records, chosen: dict):
    """One write per salesman instead of one per lead."""
    by_user = {}
    for id_, user in chosen.items():
        if user:
            by_user.setdefault(user, []).append(id_)
    for user, ids in by_user.items():
        records.browse(ids).write({"user_id": user})
