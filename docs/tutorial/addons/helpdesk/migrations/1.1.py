"""Helpdesk 1.1 adds ticket.date_closed: tickets closed before the upgrade get one."""


def migrate(env, installed_version):
    """Runs after the new column exists; one UPDATE, however many tickets there are."""
    closing = env["helpdesk.stage"].search([("is_closed", "=", True)]).ids
    if not closing:
        return
    db = env.db
    marks = ", ".join([db.param] * len(closing))
    # The last change of a closed ticket is the best guess at when it was closed.
    db.execute_sql(
        f"UPDATE helpdesk_ticket SET date_closed = write_date "
        f"WHERE date_closed IS NULL AND stage_id IN ({marks})",
        closing,
    )
