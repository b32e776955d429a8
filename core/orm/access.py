"""Access control: model access rows, record rules and field groups, checked on every path.

``registry.access`` is an ``AccessControl``; ``core.orm.models.Model`` calls it from
``check_access``, ``rule_domain`` and ``check_field_access``. What it loads (groups,
access rows, rules) is cached in the transaction's state, so a change of rights applies
from the next transaction on and no process keeps stale rights.
"""

from __future__ import annotations

import threading
import uuid
from types import MappingProxyType

from core.db.connection import is_postgres
from core.exceptions import AccessError, DomainError
from core.orm.domain import normalize
from core.orm.support import ACCESS_VERSION_KEY, REGISTRY_VERSION_KEY

OPERATIONS = MappingProxyType(
    {
        "read": "perm_read",
        "write": "perm_write",
        "create": "perm_create",
        "unlink": "perm_unlink",
    }
)
SYSTEM_GROUP = "base.group_system"
VERBS = MappingProxyType(
    {"read": "read", "write": "change", "create": "create", "unlink": "delete"}
)


def is_superuser(env) -> bool:
    return env.is_superuser()


class AccessControl:
    """The rights of users, read from ``res.groups``, ``ir.model.access`` and ``ir.rule``."""

    def __init__(self, registry):
        self.registry = registry
        self._shared: dict = {}
        self._lock = threading.Lock()

    # -- loading (once per transaction) -------------------------------------------------------------
    def _cache(self, env) -> dict:
        """Rights metadata, shared by the transactions of this process until it changes.

        Each transaction reads the access version once (one small query, or a few columns of
        the caller's first query: ``state_columns``/``prime``); any change of groups,
        memberships, access rows or rules bumps it (``bump_version``), so every process
        reloads from its next transaction on.
        """
        cache = getattr(env.state, "access", None)
        if cache is not None:
            return cache
        sql, params = self.state_columns()
        row = self.registry.db.execute_prepared(f"SELECT {sql}", params).fetchone()
        self.prime(env, row)
        return env.state.access

    def state_columns(self) -> tuple[str, tuple]:
        """``(select list, parameters)`` of what a transaction reads before its first access
        check: the access version, the registry version and, on PostgreSQL, the snapshot
        (the REST API reuses counts and pages while it is unchanged: core.rest.search). A
        request folds them into its own first query and hands the values to ``prime``."""
        db = self.registry.db
        param = db.param
        sql = (
            f"(SELECT value FROM ir_config_parameter WHERE key = {param}), "
            f"(SELECT value FROM ir_config_parameter WHERE key = {param})"
        )
        if is_postgres(db):
            sql += ", txid_current_snapshot()::text, txid_current_if_assigned()"
        return sql, (ACCESS_VERSION_KEY, REGISTRY_VERSION_KEY)

    def prime(self, env, values) -> str | None:
        """Take the values of ``state_columns`` for this transaction; returns (and keeps in
        ``env.state.stored_registry_version``) the stored registry version, text or None."""
        version = values[0] or "0"
        env.state.stored_registry_version = values[1]
        if len(values) > 2:
            env.state.pg_snapshot = (values[2], values[3])
        with self._lock:
            if self._shared.get("__version__") != version:
                self._shared = {"__version__": version}
            env.state.access = self._shared
        return values[1]

    def bump_version(self, env):
        """Rights changed in this transaction: every process reloads them after the commit."""
        db = self.registry.db
        param = db.param
        new = uuid.uuid4().hex
        db.execute_sql(
            f"INSERT INTO ir_config_parameter (key, value) VALUES ({param}, {param}) "
            f"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (ACCESS_VERSION_KEY, new),
        )
        env.state.access = {"__version__": new}  # this transaction sees its own changes

    def _xmlid_group(self, env, xml_id) -> int | None:
        cache = self._cache(env)
        key = ("xmlid", xml_id)
        if key not in cache:
            module, _, name = xml_id.partition(".")
            IrData = self.registry.tables["ir.model.data"]
            row = (
                IrData.select(IrData.res_id)
                .where(
                    (IrData.module == module)
                    & (IrData.name == name)
                    & (IrData.model == "res.groups")
                )
                .tuples()
                .first()
            )
            cache[key] = row[0] if row else None
        return cache[key]

    def user_groups(self, env, uid) -> frozenset:
        """Ids of the user's groups, including the groups they imply."""
        cache = self._cache(env)
        key = ("groups", uid)
        if key in cache:
            return cache[key]
        users_rel = self.registry.relation_tables[("res.users", "groups_id")]
        implied_rel = self.registry.relation_tables[("res.groups", "implied_ids")]
        direct = {
            gid for (gid,) in users_rel.select(users_rel.gid).where(users_rel.uid == uid).tuples()
        }
        edges = {}
        for gid, hid in implied_rel.select(implied_rel.gid, implied_rel.hid).tuples():
            edges.setdefault(gid, set()).add(hid)
        groups, frontier = set(direct), set(direct)
        while frontier:
            frontier = {h for g in frontier for h in edges.get(g, ())} - groups
            groups |= frontier
        cache[key] = frozenset(groups)
        return cache[key]

    def _access_rows(self, env) -> dict:
        cache = self._cache(env)
        if "access_rows" not in cache:
            Access = self.registry.tables["ir.model.access"]
            rows = {}
            query = Access.select(
                Access.model,
                Access.group_id,
                Access.perm_read,
                Access.perm_write,
                Access.perm_create,
                Access.perm_unlink,
            ).tuples()
            for model, group, read, write, create, unlink in query:
                rows.setdefault(model, []).append(
                    (
                        group,
                        {
                            "perm_read": read,
                            "perm_write": write,
                            "perm_create": create,
                            "perm_unlink": unlink,
                        },
                    )
                )
            cache["access_rows"] = rows
        return cache["access_rows"]

    def _rules(self, env) -> dict:
        cache = self._cache(env)
        if "rules" not in cache:
            Rule = self.registry.tables["ir.rule"]
            rel = self.registry.relation_tables[("ir.rule", "groups")]
            groups = {}
            for rule_id, gid in rel.select(rel.rule_group_id, rel.group_id).tuples():
                groups.setdefault(rule_id, set()).add(gid)
            rules = {}
            query = Rule.select(
                Rule.id,
                Rule.model,
                Rule.domain,
                Rule.perm_read,
                Rule.perm_write,
                Rule.perm_create,
                Rule.perm_unlink,
            ).where(Rule.active == True)  # noqa: E712
            for rule_id, model, domain, read, write, create, unlink in query.tuples():
                perms = {
                    "perm_read": read,
                    "perm_write": write,
                    "perm_create": create,
                    "perm_unlink": unlink,
                }
                rules.setdefault(model, []).append(
                    (domain or [], frozenset(groups.get(rule_id, ())), perms)
                )
            cache["rules"] = rules
        return cache["rules"]

    def is_system(self, env) -> bool:
        group = self._xmlid_group(env, SYSTEM_GROUP)
        return group is not None and group in self.user_groups(env, env.uid)

    # -- checks -------------------------------------------------------------------------------------------
    def model_allowed(self, env, model_name, operation) -> bool:
        if is_superuser(env):
            return True
        cls = self.registry.models[model_name]
        if getattr(cls, "_system_full_access", True) and self.is_system(env):
            return True
        perm = OPERATIONS[operation]
        groups = self.user_groups(env, env.uid)
        return any(
            values[perm] and (group is None or group in groups)
            for group, values in self._access_rows(env).get(model_name, ())
        )

    def check_model(self, env, model_name, operation):
        if operation not in OPERATIONS:
            raise AccessError(f"unknown operation {operation!r}")
        if not self.model_allowed(env, model_name, operation):
            description = self.registry.models[model_name]._description or model_name
            raise AccessError(
                env.translate(
                    "You are not allowed to %(verb)s %(model)s records (%(technical)s)",
                    verb=env.translate(VERBS[operation]),
                    model=env.translate(description),
                    technical=f"{model_name}, {operation}",
                )
            )

    def rule_domain(self, env, model_name, operation) -> list:
        """Global rules AND-ed with the OR of the rules of the user's groups."""
        if is_superuser(env):
            return []
        perm = OPERATIONS[operation]
        key = (env.uid, model_name, operation)
        cache = env.state.rule_domains  # placeholders may read the user: per transaction
        if key in cache:
            return cache[key]
        groups = self.user_groups(env, env.uid)
        global_domains, group_domains = [], []
        for domain, rule_groups, perms in self._rules(env).get(model_name, ()):
            if not perms[perm]:
                continue
            if not rule_groups:
                global_domains.append(self.evaluate(env, domain))
            elif rule_groups & groups:
                group_domains.append(self.evaluate(env, domain))
        result = []
        for domain in global_domains:
            result = _and(result, domain)
        if group_domains:
            result = _and(result, _or(group_domains))
        cache[key] = result
        return result

    def field_allowed(self, env, model_name, name) -> bool:
        field = self.registry.models[model_name]._fields.get(name)
        if field is None or not field.groups or is_superuser(env):
            return True
        groups = self.user_groups(env, env.uid)
        wanted = [self._xmlid_group(env, x.strip()) for x in field.groups.split(",") if x.strip()]
        return any(g is not None and g in groups for g in wanted)

    def check_fields(self, env, model_name, names, operation):
        for name in names:
            if not self.field_allowed(env, model_name, name):
                field = self.registry.models[model_name]._fields[name]
                raise AccessError(
                    env.translate(
                        "The field %(field)s (%(technical)s) is restricted",
                        field=env.translate(field.string or name),
                        technical=f"{model_name}.{name}",
                    )
                )

    # -- placeholders in rule domains ------------------------------------------------------------------
    def evaluate(self, env, domain) -> list:
        """Replace ``$uid``, ``$company_id``, ``$company_ids`` and ``$user.<field>`` values."""
        if not isinstance(domain, list):
            raise DomainError("a rule domain must be a list")
        result = []
        for item in domain:
            if isinstance(item, list | tuple) and len(item) == 3:
                result.append((item[0], item[1], self._value(env, item[2])))
            else:
                result.append(item)
        return result

    def _value(self, env, value):
        if isinstance(value, list):
            return [self._value(env, v) for v in value]
        if not isinstance(value, str) or not value.startswith("$"):
            return value
        user = env["res.users"].sudo().with_context(active_test=False).browse(env.uid)
        if value == "$uid":
            return env.uid
        if value == "$company_id":
            return user.company_id.id or None
        if value == "$company_ids":
            return sorted(
                set(user.company_ids.ids) | ({user.company_id.id} if user.company_id else set())
            )
        if value.startswith("$user."):
            name = value[len("$user.") :]
            if name not in user._fields or name in ("password",):
                raise DomainError(f"rule placeholder {value!r}: res.users has no field {name!r}")
            result = getattr(user, name)
            return (
                result.ids
                if hasattr(result, "_ids") and len(result) != 1
                else getattr(result, "id", result)
            )
        raise DomainError(f"unknown rule placeholder {value!r}")


def _and(left: list, right: list) -> list:
    if not left:
        return list(right)
    if not right:
        return list(left)
    return ["&", *_as_one(left), *_as_one(right)]


def _or(domains: list[list]) -> list:
    domains = [d for d in domains]
    if any(not d for d in domains):
        return []  # a rule with an empty domain grants everything
    result = _as_one(domains[0])
    for domain in domains[1:]:
        result = ["|", *result, *_as_one(domain)]
    return result


def _as_one(domain: list) -> list:
    """A domain as one prefix-form term (implicit ANDs made explicit)."""

    return normalize(domain)
