"""Groups, model access rows, record rules, credentials, API keys and login attempts."""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import hmac
import logging
import math
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.db.connection import is_postgres
from core.exceptions import AccessError, UserError, ValidationError
from core.orm import api, fields
from core.orm.domain import Query
from core.orm.models import Model
from core.orm.support import utcnow

_logger = logging.getLogger(__name__)
USE_RECORDED_EVERY = datetime.timedelta(minutes=1)  # API keys' last_used, sessions' last_seen
THROTTLE_FAILURES = 5
THROTTLE_WINDOW = datetime.timedelta(minutes=15)


class _RightsChange(Model):
    """Models whose changes alter rights: bump the access version (see core.orm.access)."""

    _name = "rights.change.mixin"
    _abstract = True

    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.access.bump_version(self.env)
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.access.bump_version(self.env)
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.access.bump_version(self.env)
        return result


class Groups(Model):
    _name = "res.groups"
    _inherit = ["rights.change.mixin"]
    _description = "Group"
    _order = "category, name"

    name = fields.Char("Name", required=True)
    category = fields.Char("Application")
    comment = fields.Text("Description")
    implied_ids = fields.Many2many(
        "res.groups", "Implies", relation="res_groups_implied_rel", column1="gid", column2="hid"
    )
    users = fields.Many2many(
        "res.users", "Users", relation="res_groups_users_rel", column1="gid", column2="uid"
    )

    def _compute_display_name(self):
        for group in self:
            group.display_name = (
                f"{group.category} / {group.name}" if group.category else group.name
            )


class ModelAccess(Model):
    """Which group may read, write, create or delete records of a model."""

    _name = "ir.model.access"
    _inherit = ["rights.change.mixin"]
    _description = "Model access"
    _order = "model, group_id"

    name = fields.Char("Name", required=True)
    model = fields.Char("Model", required=True, index=True)
    group_id = fields.Many2one("res.groups", "Group", ondelete="cascade", help="Empty: every user")
    perm_read = fields.Boolean("Read", default=True)
    perm_write = fields.Boolean("Write", default=False)
    perm_create = fields.Boolean("Create", default=False)
    perm_unlink = fields.Boolean("Delete", default=False)

    @api.constrains("model")
    def _check_model(self):
        for rec in self:
            if rec.model not in self.env.registry.models:
                raise ValidationError(f"Unknown model {rec.model!r}", "model")


class RecordRule(Model):
    """A domain that limits which records of a model the users of some groups see.

    Global rules (no groups) are AND-ed; group rules are OR-ed among themselves. Values in
    the domain may be placeholders: ``"$uid"``, ``"$company_id"``, ``"$company_ids"``,
    ``"$user.<field>"``.
    """

    _name = "ir.rule"
    _inherit = ["rights.change.mixin"]
    _description = "Record rule"
    _order = "model, name"

    name = fields.Char("Name", required=True)
    model = fields.Char("Model", required=True, index=True)
    domain = fields.Json("Domain", required=True)
    groups = fields.Many2many(
        "res.groups",
        "Groups",
        relation="rule_group_rel",
        column1="rule_group_id",
        column2="group_id",
    )
    active = fields.Boolean("Active", default=True)
    perm_read = fields.Boolean("Read", default=True)
    perm_write = fields.Boolean("Write", default=True)
    perm_create = fields.Boolean("Create", default=True)
    perm_unlink = fields.Boolean("Delete", default=True)

    @api.constrains("domain", "model")
    def _check_domain(self):

        for rec in self:
            if rec.model not in self.env.registry.models:
                raise ValidationError(f"Unknown model {rec.model!r}", "model")
            try:
                model = self.env[rec.model].sudo()
                Query(model).add_domain(
                    self.env.registry.access.evaluate(self.env, rec.domain or [])
                )
            except Exception as exc:
                raise ValidationError(f"Rule {rec.name}: bad domain: {exc}", "domain") from None


class Credential(Model):
    """Password hashes, kept apart from ``res.users`` so that no read path can reach them."""

    _system_full_access = False

    _name = "res.users.credential"
    _description = "Password"
    _sql_constraints = [("user_uniq", "unique(user_id)", "One password per user.")]

    user_id = fields.Many2one("res.users", "User", required=True, ondelete="cascade")
    password_hash = fields.Char("Hash", required=True)


class ApiKey(Model):
    """API keys: shown once, stored as a SHA-256 of the secret, optionally expiring."""

    _system_full_access = False

    _name = "res.users.apikey"
    _description = "API key"
    _order = "id desc"

    name = fields.Char("Name", required=True)
    user_id = fields.Many2one("res.users", "User", required=True, ondelete="cascade")
    prefix = fields.Char("Key prefix", required=True, index=True)
    key_hash = fields.Char("Key hash", required=True)
    expires_at = fields.Datetime("Expires")
    last_used = fields.Datetime("Last used")
    active = fields.Boolean("Active", default=True)


class LoginAttempt(Model):
    _system_full_access = False
    _name = "res.users.login_attempt"
    _description = "Login attempt"

    login = fields.Char("Login", required=True, index=True)
    ip = fields.Char("Address")
    success = fields.Boolean("Succeeded", default=False)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UsersSecurity(Model):
    """Groups, passwords, API keys and rights copying on ``res.users``."""

    _inherit = "res.users"

    groups_id = fields.Many2many(
        "res.groups", "Groups", relation="res_groups_users_rel", column1="uid", column2="gid"
    )
    share = fields.Boolean("Portal user", default=False)

    def create(self, vals_list):
        records = super().create(vals_list)
        batch = [vals_list] if isinstance(vals_list, dict) else vals_list
        if any("groups_id" in vals for vals in batch):
            self.env.registry.access.bump_version(self.env)
        return records

    def write(self, vals):
        result = super().write(vals)
        if {"groups_id", "active", "company_id", "company_ids"} & set(vals):
            self.env.registry.access.bump_version(self.env)
        return result

    # -- passwords -----------------------------------------------------------------------------
    def set_password(self, password: str, check_policy=True):
        """Store a new password (argon2id hash) for each of these users.

        ``check_policy=False`` is for demo databases only (the well-known admin/admin)."""
        if not password or (check_policy and len(password) < 8):
            raise ValidationError("A password has at least 8 characters", "password")
        Credential = self.env["res.users.credential"].sudo()
        digest = password_hasher(self.env.registry.config).hash(password)
        for user in self:
            existing = Credential.search([("user_id", "=", user.id)])
            if existing:
                existing.write({"password_hash": digest})
            else:
                Credential.create({"user_id": user.id, "password_hash": digest})
        return True

    def check_password(self, password: str) -> bool:
        self.ensure_one()
        found = self.env["res.users.credential"].sudo().search([("user_id", "=", self.id)], limit=1)
        if not found or not password:
            return False
        try:
            # A hash carries its own cost: any hasher verifies it at that cost.
            return password_hasher(self.env.registry.config).verify(found.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @api.model
    def authenticate(self, login: str, password: str, ip: str | None = None):
        """The user id for a login and password, throttled per login.

        After 5 failures for a login within 15 minutes, attempts are refused until the
        oldest of those failures is 15 minutes old; the error says how long to wait.
        """
        Attempt = self.env["res.users.login_attempt"].sudo()
        _serialize_attempts(self.env, login)
        now = utcnow()
        since = now - THROTTLE_WINDOW
        failures = Attempt.search(
            [("login", "=", login), ("success", "=", False), ("create_date", ">=", since)],
            order="create_date desc",
        )
        if len(failures) >= THROTTLE_FAILURES:
            oldest = failures[THROTTLE_FAILURES - 1].create_date
            wait = max(1, math.ceil((oldest + THROTTLE_WINDOW - now).total_seconds()))
            raise ThrottledError(
                f"Too many failed attempts for {login!r}; try again in {wait} s", wait
            )
        user = self.sudo().search([("login", "=", login)], limit=1)
        if not user:
            _spend_a_hash(self.env, password)  # unknown logins take as long as wrong passwords
        ok = bool(user) and user.active and user.check_password(password)
        Attempt.create({"login": login, "ip": ip, "success": ok})
        if not ok:
            return None
        Attempt.search([("login", "=", login), ("success", "=", False)]).unlink()
        return user.id

    # -- API keys ---------------------------------------------------------------------------------
    def api_key_create(self, name: str, expires_at=None) -> str:
        """A new API key for this user: returns the secret, which is shown only now."""
        self.ensure_one()
        if self.id != self.env.uid and not self.env.is_superuser():
            raise AccessError("You can only create your own API keys")
        prefix = secrets.token_hex(4)
        secret = f"kt_{prefix}_{secrets.token_urlsafe(32)}"
        self.env["res.users.apikey"].sudo().create(
            {
                "name": name or "API key",
                "user_id": self.id,
                "prefix": prefix,
                "key_hash": hash_secret(secret),
                "expires_at": expires_at,
            }
        )
        return secret

    def api_key_revoke(self, key_id: int):
        self.ensure_one()
        key = (
            self.env["res.users.apikey"]
            .sudo()
            .search([("id", "=", key_id), ("user_id", "=", self.id)])
        )
        if not key:
            raise UserError("No such API key for this user")
        key.write({"active": False})
        return True

    @api.model
    def api_key_user(self, secret: str):
        """The active user an API key belongs to, or None (unknown, revoked, expired)."""
        found = self.api_key_lookup(secret)
        return found[1] if found else None

    @api.model
    def api_key_lookup(self, secret: str):
        """``(key id, user id, last_used, user's language)`` of a valid key of an active
        user, or None.

        One query: this runs first in every API request, so it also reads what the
        transaction's first access check needs (``AccessControl.state_columns``), which
        leaves ``env.state.stored_registry_version`` for the caller to compare."""
        parts = (secret or "").split("_", 2)  # the random part may contain "_" itself
        if len(parts) != 3 or parts[0] != "kt":
            return None
        env = self.env
        db = env.db
        access = env.registry.access
        state_sql, state_params = ("NULL", ()) if access is None else access.state_columns()
        # The one-row left side keeps the state columns when no key matches.
        cursor = db.execute_prepared(
            f"SELECT {state_sql}, k.key_hash, k.expires_at, k.user_id, u.active, k.id, "
            "k.last_used, u.lang FROM (SELECT 1 AS one) AS one "
            "LEFT JOIN (res_users_apikey k JOIN res_users u ON u.id = k.user_id) "
            f"ON k.prefix = {db.param} AND k.active = {db.param}",
            (*state_params, parts[1], True),
        )
        rows = cursor.fetchall()
        width = len(rows[0]) - 7
        if access is not None and getattr(env.state, "access", None) is None:
            access.prime(env, rows[0][:width])
        table = env.registry.tables["res.users.apikey"]
        digest = hash_secret(secret)
        for row in rows:
            key_hash, expires_at, user_id, active, key_id, last_used, lang = row[width:]
            if key_hash is not None and hmac.compare_digest(key_hash, digest):
                expires_at = table.expires_at.python_value(expires_at) if expires_at else None
                if (expires_at and expires_at < utcnow()) or not active:
                    return None
                last_used = table.last_used.python_value(last_used) if last_used else None
                return key_id, user_id, last_used, lang or None
        return None

    # -- rights -----------------------------------------------------------------------------------------
    def copy_rights_to(self, target):
        """Give ``target`` exactly the groups (and company access) of this user."""
        self.ensure_one()
        target.sudo().write(
            {
                "groups_id": [(6, 0, self.sudo().groups_id.ids)],
                "company_id": self.sudo().company_id.id,
                "company_ids": [(6, 0, self.sudo().company_ids.ids)],
            }
        )
        return True

    def has_group(self, xml_id: str) -> bool:
        self.ensure_one()
        group = self.env.ref(xml_id, raise_if_not_found=False)
        return bool(group) and group.id in self.env.registry.access.user_groups(self.env, self.id)


def _serialize_attempts(env, login):
    """On PostgreSQL, attempts for one login wait for each other (a transaction-level lock),
    so parallel requests cannot all pass the count of failures before any is recorded."""

    if is_postgres(env.db) and env.db.in_transaction():
        env.db.execute_sql("SELECT pg_advisory_xact_lock(7411, hashtext(%s))", (login,))


def password_hasher(config) -> PasswordHasher:
    """The argon2id hasher at the cost the configuration sets (``security.argon2_*``)."""
    get = config.get if config is not None else (lambda _key, default: default)
    return _hasher(
        get("security.argon2_time_cost", 3),
        get("security.argon2_memory_kib", 65536),
        get("security.argon2_parallelism", 4),
    )


@functools.cache
def _hasher(time_cost, memory_kib, parallelism) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def _spend_a_hash(env, password):
    """Verify against a hash of the configured cost, as a known login's check would."""
    hasher = password_hasher(env.registry.config)
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(_dummy_hash(hasher), password or "-")


_HASH_IN_TEXT = re.compile(r"\$argon2[^'\"\s)]*")


class _HidePasswordHashes(logging.Filter):
    """SQL logged at DEBUG carries its parameters: keep password hashes out of every log."""

    def filter(self, record):
        text = record.getMessage()
        if "$argon2" in text:
            record.msg, record.args = _HASH_IN_TEXT.sub("<password hash>", text), ()
        return True


_PEEWEE_LOG = logging.getLogger("peewee")
if not any(type(f).__name__ == "_HidePasswordHashes" for f in _PEEWEE_LOG.filters):
    _PEEWEE_LOG.addFilter(_HidePasswordHashes())


class ThrottledError(UserError):
    """Login refused for a while after too many failures."""

    def __init__(self, message, wait_seconds):
        super().__init__(message)
        self.wait_seconds = wait_seconds


MODELS = (
    _RightsChange,
    Groups,
    ModelAccess,
    RecordRule,
    Credential,
    ApiKey,
    LoginAttempt,
    UsersSecurity,
)
__all__ = ["MODELS", "ThrottledError", "hash_secret"]


def record_use(registry, model_name, field_name, row_id, last_seen, now=None, active_only=False):
    """Store that an API key or a web session was used (``field_name`` := now) when the
    value read with it is a minute old or missing, in a small transaction of its own, so an
    ordinary GET never takes a write lock for it. One conditional UPDATE (no history, no
    write_date, so no conflict with the user's edits): requests racing at the turn of the
    minute write once. A busy database does not fail the request; next minute will do."""
    now = now or utcnow()
    if last_seen is not None and now - last_seen < USE_RECORDED_EVERY:
        return
    table = registry.tables[model_name]
    column = getattr(table, field_name)
    name = f'"{column.column_name}"'
    try:
        with registry.transaction() as env:
            db = env.db
            p = db.param
            active = f" AND active = {p}" if active_only else ""
            db.execute_sql(
                f'UPDATE "{table._meta.table_name}" SET {name} = {p} WHERE id = {p}{active} '
                f"AND ({name} IS NULL OR {name} < {p})",
                (
                    column.db_value(now),
                    row_id,
                    *((True,) if active_only else ()),
                    column.db_value(now - USE_RECORDED_EVERY),
                ),
            )
    except Exception:
        _logger.warning("could not record the use of %s %s", model_name, row_id)
