"""crm.stage.history: when each deal entered and left each stage, and how long it stayed."""

from core import Model, fields, is_postgres, utcnow


class StageHistory(Model):
    _name = "crm.stage.history"
    _description = "Stage history of a deal"
    _order = "date_in, id"
    _rec_name = "stage_id"

    lead_id = fields.Many2one("crm.lead", "Deal", required=True, ondelete="cascade", index=True)
    stage_id = fields.Many2one("crm.stage", "Stage", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", "Salesman")
    date_in = fields.Datetime("Entered", required=True)
    date_out = fields.Datetime("Left")
    duration_hours = fields.Float("Hours in stage", digits=2)

    def open_rows(self, leads, stages=None):
        """Start a row for each lead at its current stage (one insert for the batch).

        ``stages``: ``[(lead id, stage id, user id)]`` when the caller knows them already
        (a create), which spares reading the leads back."""
        if stages is None:
            if not leads:
                return self.browse()
            rows = leads.sudo().with_context(active_test=False).read(["stage_id", "user_id"])
            stages = [
                (row["id"], row["stage_id"][0], row["user_id"][0] if row["user_id"] else None)
                for row in rows
                if row["stage_id"]
            ]
        now = utcnow()
        return self.sudo().create(
            [
                {"lead_id": lead, "stage_id": stage, "user_id": user, "date_in": now}
                for lead, stage, user in stages
            ]
        )

    def close_rows(self, leads):
        """End the open rows of the leads now, with their duration (one UPDATE)."""
        if not leads:
            return
        db = self.env.db
        now = utcnow()
        if is_postgres(db):
            duration = f"EXTRACT(EPOCH FROM ({db.param}::timestamp - date_in)) / 3600.0"
            stamp = now
        else:
            duration = f"(julianday({db.param}) - julianday(date_in)) * 24.0"
            stamp = now.isoformat(sep=" ")
        ids = list(leads.ids)
        for start in range(0, len(ids), 5000):  # within every database's limit of parameters
            chunk = ids[start : start + 5000]
            marks = ", ".join([db.param] * len(chunk))
            db.execute_sql(
                f"UPDATE crm_stage_history SET date_out = {db.param}, duration_hours = {duration}, "
                f"write_date = {db.param}, write_uid = {db.param} "
                f"WHERE date_out IS NULL AND lead_id IN ({marks})",
                [stamp, stamp, stamp, self.env.uid, *chunk],
            )
        # The rows changed behind the ORM's back: forget what this transaction cached of them.
        cache = self.env.state.cache
        for name in ("date_out", "duration_hours", "write_date", "write_uid"):
            cache.pop(self._fields[name], None)


MODELS = [StageHistory]
