"""Server-side web sessions: one ``res.users.session`` row per signed-in browser.

Signing in (``core/request/identity.py``) creates a row and keeps its id and a random secret in the
cookie; the database keeps only a SHA-256 of the secret, in ``res.users.session.key``, a
model no user may read (like password hashes), so the hash never reaches a page, the API,
an export or a webhook. A request is signed in only when its row is active, belongs to the
cookie's user, was seen within ``server.session_idle_days`` and the user is active: one
query (``session_check``), which also brings the user's name, language and password hash,
so checking the session costs a web request nothing extra. ``last_seen`` is written at most
once a minute (``core.base.security.record_use``, as for an API key's ``last_used``).

Sessions end (``active = False``) when the user signs out, changes password (every session;
the password page opens a new one for the browser that changed it), is archived, signs out
his other sessions, or when an administrator ends them (``action_end_sessions`` on the user,
``kontora user logout LOGIN``). A daily job deletes expired rows and rows revoked more than
a day ago.

Rights: users read their own sessions, administrators everyone's; nobody writes them except
through these methods, so a revoked session cannot be reopened.
"""

from __future__ import annotations

import datetime
import hmac
import secrets

from core.base.security import hash_secret
from core.exceptions import AccessError
from core.jobs.queue import Job, crontab
from core.orm import api, fields
from core.orm.models import Model
from core.orm.support import utcnow

DEFAULT_IDLE_DAYS = 14
REVOKED_KEPT = datetime.timedelta(days=1)
MAX_USER_AGENT = 512


def idle_limit(config) -> datetime.timedelta:
    """How long a session may go unused before it no longer signs in."""
    days = config.get("server.session_idle_days", DEFAULT_IDLE_DAYS) if config else None
    return datetime.timedelta(days=days or DEFAULT_IDLE_DAYS)


def _is_admin(env) -> bool:
    return env.is_superuser() or env.user.has_group("base.group_system")


class UserSession(Model):
    """A signed-in browser: when it signed in, when it was last seen, from where."""

    _system_full_access = False  # administrators read them; nobody writes them directly

    _name = "res.users.session"
    _description = "Web session"
    _order = "last_seen desc, id desc"

    user_id = fields.Many2one("res.users", "User", required=True, ondelete="cascade", index=True)
    last_seen = fields.Datetime("Last seen", index=True)
    ip = fields.Char("IP address")
    user_agent = fields.Char("Browser")
    active = fields.Boolean("Active", default=True)

    def _compute_display_name(self):
        for rec in self:
            user = rec.sudo().user_id
            rec.display_name = f"{user.name or ''} · {rec.ip or '?'} · {rec.create_date or ''}"

    # -- signing in and checking ----------------------------------------------------------------
    @api.model
    def session_open(self, uid: int, ip: str | None, user_agent: str | None) -> tuple[int, str]:
        """A new session of ``uid``: ``(row id, secret)`` for the cookie (the secret is kept
        nowhere else; the database has its hash)."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        row = self.sudo().create(
            {
                "user_id": uid,
                "last_seen": now,
                "ip": (ip or "")[:64] or None,
                "user_agent": (user_agent or "")[:MAX_USER_AGENT] or None,
            }
        )
        self.env["res.users.session.key"].sudo().create(
            {"session_id": row.id, "key_hash": hash_secret(secret)}
        )
        return row.id, secret

    @api.model
    def session_check(self, session_id, uid, secret, seen_since):
        """The user of a valid session as a dict (``id, login, name, lang, tz, password_hash,
        last_seen``), or None: unknown, revoked, someone else's, idle since before
        ``seen_since``, wrong secret, or the user archived. One plain query: it runs on
        every signed-in request."""
        if not isinstance(session_id, int) or not isinstance(uid, int):
            return None
        if not isinstance(secret, str) or not secret:
            return None
        db = self.env.db
        table = self.env.registry.tables["res.users.session"]
        p = db.param
        cursor = db.execute_sql(
            "SELECT k.key_hash, s.last_seen, u.login, u.name, u.lang, u.tz, c.password_hash "
            "FROM res_users_session s "
            "JOIN res_users_session_key k ON k.session_id = s.id "
            "JOIN res_users u ON u.id = s.user_id "
            "LEFT JOIN res_users_credential c ON c.user_id = s.user_id "
            f"WHERE s.id = {p} AND s.user_id = {p} AND s.active = {p} AND u.active = {p} "
            f"AND s.last_seen >= {p}",
            (session_id, uid, True, True, table.last_seen.db_value(seen_since)),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        key_hash, last_seen, login, name, lang, tz, password_hash = row
        if not hmac.compare_digest(key_hash, hash_secret(secret)):
            return None
        return {
            "id": uid,
            "login": login,
            "name": name,
            "lang": lang,
            "tz": tz,
            "password_hash": password_hash or "",
            "last_seen": table.last_seen.python_value(last_seen),
        }

    @api.model
    def session_close(self, session_id, uid, secret) -> bool:
        """Sign-out: revoke the cookie's own session (its secret must match)."""
        if not isinstance(session_id, int) or not isinstance(secret, str):
            return False
        key = (
            self.env["res.users.session.key"]
            .sudo()
            .search([("session_id", "=", session_id)], limit=1)
        )
        if not key or not hmac.compare_digest(key.key_hash, hash_secret(secret)):
            return False
        found = self.sudo().search(
            [("id", "=", session_id), ("user_id", "=", uid), ("active", "=", True)]
        )
        found.write({"active": False})
        return bool(found)

    # -- ending sessions -----------------------------------------------------------------------------
    def _may_end(self):
        """Users end their own sessions; administrators anyone's."""
        env = self.env
        if _is_admin(env):
            return
        if any(rec.user_id.id != env.uid for rec in self.sudo()):
            raise AccessError("You can only end your own sessions")

    @api.public
    def action_revoke(self):
        """End these sessions: their cookies stop working at once."""
        self._may_end()
        self.sudo().filtered(lambda rec: rec.active).write({"active": False})
        return True

    @api.model
    def session_prune(self, now=None, idle: datetime.timedelta | None = None) -> int:
        """Delete sessions idle for longer than ``idle`` and those revoked more than a day
        ago; returns how many."""
        now = now or utcnow()
        idle = idle or idle_limit(self.env.registry.config)
        stale = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    "|",
                    ("last_seen", "<", now - idle),
                    "&",
                    ("active", "=", False),
                    ("write_date", "<", now - REVOKED_KEPT),
                ]
            )
        )
        count = len(stale)
        stale.unlink()
        return count


class UserSessionKey(Model):
    """The hash of a session's secret, kept apart so that no read path can reach it."""

    _system_full_access = False

    _name = "res.users.session.key"
    _description = "Web session key"
    _sql_constraints = [("session_uniq", "unique(session_id)", "One key per session.")]

    session_id = fields.Many2one("res.users.session", "Session", required=True, ondelete="cascade")
    key_hash = fields.Char("Key hash", required=True)


class UsersSessions(Model):
    """Ending a user's sessions: on demand, on a password change, on archiving."""

    _inherit = "res.users"

    def end_sessions(self, keep: int | None = None) -> int:
        """Revoke every active session of these users (but ``keep``, a session id);
        returns how many ended. Trusted code only: the callers check the rights."""
        if not self:
            return 0
        domain = [("user_id", "in", self.ids), ("active", "=", True)]
        if keep:
            domain.append(("id", "!=", keep))
        found = self.env["res.users.session"].sudo().search(domain)
        found.write({"active": False})
        return len(found)

    @api.public
    def action_end_sessions(self):
        """Sign these users out everywhere (administrators; users for themselves)."""
        env = self.env
        if not _is_admin(env) and any(user_id != env.uid for user_id in self.ids):
            raise AccessError("Only administrators may end other users' sessions")
        self.sudo().end_sessions()
        return True

    def set_password(self, password: str, check_policy=True):
        """A new password ends every session of the user (the web password page then opens a
        fresh one for the browser that changed it)."""
        result = super().set_password(password, check_policy=check_policy)
        self.sudo().end_sessions()
        return result

    def write(self, vals):
        result = super().write(vals)
        if "active" in vals and not vals["active"]:
            self.sudo().end_sessions()
        return result


def prune_sessions_job(env):
    """The daily clean-up of expired and revoked sessions."""
    return env["res.users.session"].sudo().session_prune()


JOBS = (Job("base.session_prune", prune_sessions_job, periodic=crontab(minute="23", hour="3")),)
MODELS = (UserSession, UserSessionKey, UsersSessions)
__all__ = ["DEFAULT_IDLE_DAYS", "JOBS", "MODELS", "idle_limit"]
