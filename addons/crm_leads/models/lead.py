"""crm.lead: leads (a first contact) and opportunities (a deal going through the pipeline)."""

import datetime

from core import Model, UserError, ValidationError, api, fields, tr, utcnow

from .. import assign

PRIORITIES = [("0", "Low"), ("1", "Normal"), ("2", "High"), ("3", "Very high")]
LEAD_STATUSES = [
    ("new", "New"),
    ("in_progress", "In progress"),
    ("converted", "Converted"),
    ("dead", "Dead"),
]
WON_STATUSES = [("pending", "In progress"), ("won", "Won"), ("lost", "Lost")]


def _first_stage(env):
    return env["crm.stage"].sudo().search([("is_won", "=", False)], limit=1)


class Lead(Model):
    _name = "crm.lead"
    _description = "Lead or opportunity"
    _order = "priority desc, id desc"

    type = fields.Selection(
        [("lead", "Lead"), ("opportunity", "Opportunity")],
        "Type",
        required=True,
        default="lead",
        index=True,
    )
    name = fields.Char("Subject", required=True, index="trigram")
    active = fields.Boolean("Active", default=True)
    # Who the lead came from, as they wrote it; conversion turns it into partners.
    contact_name = fields.Char("Contact name")
    partner_name = fields.Char("Company name")
    function = fields.Char("Job position")
    email_from = fields.Char("E-mail", index=True)
    phone = fields.Char("Phone", index=True)
    website = fields.Char("Website")
    city = fields.Char("City")
    # Where it came from.
    source_id = fields.Many2one("utm.source", "Source", index=True)
    medium_id = fields.Many2one("utm.medium", "Medium")
    campaign_id = fields.Many2one("utm.campaign", "Campaign")
    referred = fields.Char(
        "Referred by", help="Who referred the customer, or the page they came from."
    )
    status = fields.Selection(LEAD_STATUSES, "Lead status", default="new", index=True)
    priority = fields.Selection(PRIORITIES, "Priority", default="1")
    description = fields.Text("Notes")
    # Who works on it.
    partner_id = fields.Many2one("res.partner", "Customer", index=True)
    user_id = fields.Many2one("res.users", "Salesman", index=True)
    team_id = fields.Many2one("crm.team", "Sales team", index=True)
    tag_ids = fields.Many2many(
        "crm.tag", "Tags", relation="crm_lead_tag_rel", column1="lead_id", column2="tag_id"
    )
    # The pipeline.
    stage_id = fields.Many2one("crm.stage", "Stage", ondelete="restrict", index=True)
    expected_revenue = fields.Monetary("Expected revenue", default=0)
    probability = fields.Float("Probability (%)", digits=2, default=0.0)
    date_deadline = fields.Date("Expected closing")
    date_last_stage_update = fields.Datetime("Stage changed on", readonly=True)
    stage_user_id = fields.Many2one("res.users", "Stage responsible", readonly=True)
    stage_deadline = fields.Date("Stage deadline", readonly=True)
    lost_reason_id = fields.Many2one("crm.lost.reason", "Lost reason", ondelete="restrict")
    lost_stage_id = fields.Many2one("crm.stage", "Lost at stage", readonly=True)
    date_won = fields.Datetime("Won on", readonly=True, copy=False)
    date_lost = fields.Datetime("Lost on", readonly=True, copy=False)
    won_status = fields.Selection(
        WON_STATUSES, "Outcome", compute="_compute_won_status", store=True, index=True
    )
    # What the lead became, and where an opportunity came from.
    converted_partner_id = fields.Many2one("res.partner", "Converted to company", readonly=True)
    converted_contact_id = fields.Many2one("res.partner", "Converted to contact", readonly=True)
    converted_opportunity_id = fields.Many2one(
        "crm.lead", "Converted to opportunity", readonly=True, copy=False
    )
    origin_lead_id = fields.Many2one("crm.lead", "From lead", readonly=True, copy=False)
    date_conversion = fields.Datetime("Converted on", readonly=True, copy=False)
    stage_history_ids = fields.One2many("crm.stage.history", "lead_id", "Stage history")

    @api.depends("active", "stage_id.is_won", "lost_reason_id")
    def _compute_won_status(self):
        for lead in self:
            if lead.lost_reason_id and not lead.active:
                lead.won_status = "lost"
            elif lead.stage_id.is_won and lead.active:
                lead.won_status = "won"
            else:
                lead.won_status = "pending"

    @api.constrains("probability")
    def _check_probability(self):
        for lead in self:
            if not 0 <= (lead.probability or 0) <= 100:
                raise ValidationError(
                    tr(
                        self.env,
                        "Probability must be between 0 and 100, got %(value)s",
                        value=lead.probability,
                    ),
                    "probability",
                )

    @api.constrains("expected_revenue")
    def _check_revenue(self):
        for lead in self:
            if lead.expected_revenue is not None and lead.expected_revenue < 0:
                raise ValidationError(
                    tr(self.env, "Expected revenue cannot be negative"), "expected_revenue"
                )

    # -- create and write ----------------------------------------------------------------------------
    def create(self, vals_list):
        """Create leads in one batch: stage and probability of opportunities, the team from
        the source, the salesman by the team's assignment mode, and the first stage history."""
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        vals_list = [dict(vals) for vals in vals_list]
        if not vals_list:
            return self.browse()
        env = self.env
        stage = None
        stages = {}
        for vals in vals_list:
            # A card added to a pipeline column (kanban quick create) is a deal.
            if vals.get("stage_id") and not vals.get("type"):
                vals["type"] = "opportunity"
            if vals.get("type") == "opportunity" and not vals.get("stage_id"):
                stage = stage if stage is not None else _first_stage(env)
                if stage:
                    vals["stage_id"] = stage.id
        stage_ids = {v["stage_id"] for v in vals_list if v.get("stage_id")}
        if stage_ids:
            for row in (
                env["crm.stage"]
                .sudo()
                .browse(stage_ids)
                .read(["probability", "is_won", "user_id", "deadline_days"])
            ):
                stages[row["id"]] = row
        now = utcnow()
        for vals in vals_list:
            row = stages.get(vals.get("stage_id"))
            if row is None:
                continue
            vals.setdefault("probability", 100.0 if row["is_won"] else row["probability"])
            vals.setdefault("date_last_stage_update", now)
            _stage_responsible(vals, row, now)
            if row["is_won"]:
                vals.setdefault("date_won", now)
        # All or nothing: a refused create must not keep the round robin turns it took.
        with env.atomic():
            assign.prepare_create(env, vals_list)
            records = super().create(vals_list)
            assign.after_create(env, records, vals_list)
            staged = [
                (id_, vals["stage_id"], vals.get("user_id") or None)
                for id_, vals in zip(records.ids, vals_list, strict=True)
                if vals.get("stage_id")
            ]
            env["crm.stage.history"].sudo().open_rows(records, staged)
        return records

    def write(self, vals):
        """Change leads; a new stage sets probability, responsible and deadline, and is
        recorded in the stage history (one batch for all the records)."""
        vals = dict(vals)
        moving = None
        if vals.get("stage_id"):
            stage_id = record_id(self.env, vals["stage_id"], "stage_id")
            stage = self.env["crm.stage"].sudo().browse(stage_id).exists()
            if not stage:
                raise ValidationError(
                    tr(self.env, "No stage with id %(id)s", id=stage_id), "stage_id"
                )
            vals["stage_id"] = stage.id
            row = stage.read(["probability", "is_won", "user_id", "deadline_days"])[0]
            now = utcnow()
            moving = self.filtered(lambda lead: lead.stage_id.id != stage.id)
            vals.setdefault("probability", 100.0 if row["is_won"] else row["probability"])
            vals["date_last_stage_update"] = now
            _stage_responsible(vals, row, now)
            if row["is_won"]:
                vals.setdefault("date_won", now)
            else:
                vals.setdefault("date_won", None)
        if not moving:
            return super().write(vals)
        # The history is written as the system: check the user's right to the deals first,
        # and keep it all in one savepoint, so a refused write leaves no trace.
        self.check_access("write")
        self.check_access_rule("write")
        with self.env.atomic():
            self.env["crm.stage.history"].sudo().close_rows(moving)
            result = super().write(vals)
            self.env["crm.stage.history"].sudo().open_rows(moving)
        return result

    # -- pipeline ---------------------------------------------------------------------------------------
    def action_schedule_activity(self):
        """Open a new activity (a call, a meeting, a task) about this lead or deal."""
        self.ensure_one()
        partner = self.partner_id.id or ""
        return {
            "url": f"/web/mail.activity/new?default_res_model=crm.lead&default_res_id={self.id}"
            f"&default_user_id={self.env.uid}&default_partner_id={partner}"
        }

    def action_set_won(self):
        """Move the deals to the won stage."""
        stage = self.env["crm.stage"].sudo().search([("is_won", "=", True)], limit=1)
        if not stage:
            raise UserError(tr(self.env, "There is no won stage: mark a stage as won first."))
        lost = self.filtered(lambda lead: lead.won_status == "lost")
        if lost:
            raise UserError(
                tr(self.env, "%(name)s: the deal is lost; restore it first.", name=lost[0].name)
            )
        with self.env.atomic():
            self.filtered(lambda lead: lead.type == "lead").write({"type": "opportunity"})
            self.write({"stage_id": stage.id, "probability": 100.0})
            self.message_post(tr(self.env, "Marked won"))
        return True

    def action_set_lost(self, lost_reason_id=None):
        """Mark the deals lost for a reason, required: the one given, else the one chosen on
        each deal's form. The stage they were at is kept and recorded as the lost stage."""
        reasons = {}
        if lost_reason_id:
            reason_id = record_id(self.env, lost_reason_id, "lost_reason_id")
            reason = self.env["crm.lost.reason"].browse(reason_id).exists()
            if not reason:
                raise ValidationError(
                    tr(self.env, "No lost reason with id %(id)s", id=lost_reason_id),
                    "lost_reason_id",
                )
            reasons = dict.fromkeys(self.ids, reason.id)
        else:
            for lead in self:
                if not lead.lost_reason_id:
                    raise ValidationError(
                        tr(self.env, "Say why the deal was lost: a lost reason is required."),
                        "lost_reason_id",
                    )
                reasons[lead.id] = lead.lost_reason_id.id
        won = self.filtered(lambda lead: lead.won_status == "won")
        if won:
            raise UserError(
                tr(self.env, "%(name)s: the deal is won; it cannot be lost.", name=won[0].name)
            )
        now = utcnow()
        self.check_access("write")
        self.check_access_rule("write")
        groups = {}
        for lead in self:
            groups.setdefault((lead.stage_id.id, reasons[lead.id]), []).append(lead.id)
        with self.env.atomic():
            self.env["crm.stage.history"].sudo().close_rows(self)
            for (stage, reason), ids in groups.items():
                leads = self.browse(ids)
                leads.write(
                    {
                        "active": False,
                        "lost_reason_id": reason,
                        "lost_stage_id": stage or None,
                        "probability": 0.0,
                        "date_lost": now,
                    }
                )
                leads.message_post(
                    tr(
                        self.env,
                        "Marked lost: %(reason)s (at the stage %(stage)s)",
                        reason=tr(self.env, leads[0].lost_reason_id.name or ""),
                        stage=tr(self.env, leads[0].lost_stage_id.name or "—"),
                    )
                )
            dead = self.filtered(lambda lead: lead.type == "lead")
            if dead:
                dead.write({"status": "dead"})
        return True

    def action_restore(self):
        """Bring lost deals back into the pipeline at the stage where they were lost."""
        records = self.with_context(active_test=False)
        lost = records.filtered(lambda lead: not lead.active or lead.lost_reason_id)
        with self.env.atomic():
            for stage, leads in _group_by_stage(lost).items():
                probability = leads[0].stage_id.probability if stage else 0.0
                leads.write(
                    {
                        "active": True,
                        "lost_reason_id": None,
                        "lost_stage_id": None,
                        "date_lost": None,
                        "probability": probability or 0.0,
                    }
                )
            reopened = lost.filtered(lambda lead: lead.type == "lead" and lead.status == "dead")
            if reopened:
                reopened.write({"status": "in_progress"})
            staged = lost.filtered(lambda lead: lead.stage_id)
            self.env["crm.stage.history"].sudo().open_rows(staged)
            if lost:
                lost.message_post(tr(self.env, "Restored"))
        return True

    def action_assign(self, user_id=None):
        """Give the leads to a salesman, or (without one) by their team's assignment mode."""
        if user_id:
            user = self.env["res.users"].sudo().browse(record_id(self.env, user_id, "user_id"))
            user = user.exists()
            if not user:
                raise ValidationError(tr(self.env, "No user with id %(id)s", id=user_id), "user_id")
            self.write({"user_id": user.id})
            return True
        assign.reassign(self)
        return True

    def action_start(self):
        """The salesman took the lead in hand: status In progress."""
        self.filtered(lambda lead: lead.status == "new").write({"status": "in_progress"})
        return True

    def action_convert(self, partner_id=None, company_id=None, user_id=None):
        """Convert the leads into a company, a contact and an opportunity each.

        Existing partners found by the duplicate check are used instead of new ones;
        ``partner_id`` (a contact) and ``company_id`` choose them explicitly.
        """
        from ..convert import convert_leads

        choices = {}
        if partner_id or company_id:
            pair = (
                record_id(self.env, partner_id, "partner_id") if partner_id else None,
                record_id(self.env, company_id, "company_id") if company_id else None,
            )
            choices = dict.fromkeys(self.ids, pair)
        if user_id:
            user_id = record_id(self.env, user_id, "user_id")
        result = convert_leads(self, choices=choices, user_id=user_id)
        return result.ids


def record_id(env, value, field):
    """The id in ``value`` (an id, a record, ``(id, name)``); a clear error for anything else."""
    if hasattr(value, "_ids"):
        return value.id
    if isinstance(value, list | tuple) and value:
        value = value[0]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ValidationError(
            tr(env, "%(field)s: expected a record id, got %(value)r", field=field, value=value),
            field,
        )
    return value


def _stage_responsible(vals, row, now):
    """The stage's responsible and its deadline, for a lead entering it."""
    vals["stage_user_id"] = row["user_id"][0] if row["user_id"] else None
    days = row["deadline_days"] or 0
    vals["stage_deadline"] = (now + datetime.timedelta(days=days)).date() if days > 0 else None


def _group_by_stage(records) -> dict:
    groups = {}
    for lead in records:
        groups.setdefault(lead.stage_id.id, []).append(lead.id)
    return {stage: records.browse(ids) for stage, ids in groups.items()}
