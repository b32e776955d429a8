"""Pages of a search, cheaply: compiled SQL kept per search, counts and pages reused while
the data cannot have changed. The public surface is ``Model.search_page`` and
``Model.read_columns`` (REST and the web list use both) and the registry's ``QueryCache``.

- Building a ``core.orm.domain.Query`` and letting peewee compile it costs more than running the
  SQL on a page of 80 rows, and lists repeat the same domain over and over: the SQL text and
  parameters of the page and of its count are kept per (registry build, model, user, access
  version, domain, evaluated rules, order, limit, offset, active filter), for queries whose
  SQL depends on nothing else: every term of the domain and of the rules names a plain
  stored field of the model (no path through a relation, no many2one compared by name, no
  x2many, no hierarchy) and the order names no many2one (those embed other models' rules).
- Counting every matching row is most of what a page costs, and a list is reloaded far more
  often than its table changes: the result of a count is reused while the database cannot
  have changed since (``QueryCache.data_state``). Callers keep their own results the same
  way (``recall`` / ``remember``: the API keeps whole serialised pages).

Everything lives on the registry's ``QueryCache``: two registries in one process share
nothing. Access checks are unchanged: the model right is checked on every call, field groups
are part of the keys through the access version, and the ids found are registered as
rule-checked exactly as ``Model.search_ids`` does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from peewee import fn

from core.db.connection import is_postgres
from core.orm import fields as F

PLAN_CACHE_SIZE = 512
_NAME_OPERATORS = ("like", "ilike", "not like", "not ilike", "=like", "=ilike")
_MAX_CONNECTIONS = 64


class QueryCache:
    """A registry's compiled searches, and results valid for one state of its database.

    Results are kept in named scopes (``"counts"``, and whatever callers name, e.g. the API's
    ``"pages"``), each entry with the data-state token it was made in; an entry is reused
    only under an equal token (see ``data_state``).
    """

    def __init__(self, size=PLAN_CACHE_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._plans: OrderedDict = OrderedDict()
        self._pg_scopes: dict = {}
        self._sqlite_scopes: OrderedDict = OrderedDict()  # id(connection) -> (connection, scopes)

    def clear(self):
        with self._lock:
            self._plans.clear()
            self._pg_scopes.clear()
            self._sqlite_scopes.clear()

    # -- compiled searches -------------------------------------------------------------------------------
    def plan(self, key):
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
            return plan

    def keep_plan(self, key, plan):
        self._store(self._plans, key, plan, self.size)

    # -- results of one state of the data ----------------------------------------------------------------
    def data_state(self, env):
        """``(scopes, token)``: equal tokens in one scope mean the same data, or None.

        PostgreSQL: the transaction's snapshot (``xmin:xmax:xip``): two identical snapshots
        see exactly the same committed rows. It is the one read with the access version
        (``core.orm.access``) at the start of the transaction, or read here, before the
        query whose result is kept, so a commit in between shows in every later snapshot and
        an entry can never be reused wrongly. A transaction that has written (it has an id)
        sees its own rows: no reuse then. A result made later in the transaction than the
        snapshot may include a commit that ended in between; it is only ever reused for
        requests whose snapshot was taken before that commit ended (any later snapshot
        differs), which ran at the same time as it.
        SQLite: ``PRAGMA data_version`` (changes by other connections, fixed for the read
        transaction, which the caller's first query has already opened) with the
        connection's ``total_changes`` (its own changes), per connection.
        """
        db = env.db
        if is_postgres(db):
            taken = getattr(env.state, "pg_snapshot", None)
            if taken is None:
                taken = db.execute_sql(
                    "SELECT txid_current_snapshot()::text, txid_current_if_assigned()"
                ).fetchone()
            snapshot, own = taken
            if own is not None:
                return None
            with self._lock:
                scopes = self._pg_scopes.get("db")
                if scopes is None:
                    scopes = self._pg_scopes["db"] = {}
            return scopes, snapshot
        conn = db.connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        with self._lock:
            # Holding the connection keeps its id from being reused by another one.
            entry = self._sqlite_scopes.get(id(conn))
            if entry is None or entry[0] is not conn:
                entry = self._sqlite_scopes[id(conn)] = (conn, {})
                while len(self._sqlite_scopes) > _MAX_CONNECTIONS:
                    self._sqlite_scopes.popitem(last=False)
            else:
                self._sqlite_scopes.move_to_end(id(conn))
        return entry[1], (version, conn.total_changes)

    def recall(self, env, scope, key):
        """``(value or None, state)``: what ``remember`` kept under ``key`` for this state of
        the data; call after the transaction's first query (on SQLite the read snapshot)."""
        state = self.data_state(env)
        if state is None:
            return None, None
        scopes, token = state
        with self._lock:
            found = scopes.get(scope, {}).get(key)
        if found is not None and found[0] == token:
            return found[1], state
        return None, state

    def remember(self, state, scope, key, value, size=PLAN_CACHE_SIZE):
        """Keep ``value`` for the state ``recall`` returned (nothing when it was None)."""
        if state is None or not size:
            return
        scopes, token = state
        with self._lock:
            entries = scopes.get(scope)
            if entries is None:
                entries = scopes[scope] = OrderedDict()
        self._store(entries, key, (token, value), size)

    def count(self, env, sql, params) -> int:
        """The result of a COUNT query, taken from the last identical query when no data can
        have changed since (same SQL text and parameters, same state of the database)."""
        db = env.db
        value, state = self.recall(env, "counts", (sql, params))
        if value is not None:
            return value
        total = db.execute_prepared(sql, params).fetchone()[0] or 0
        self.remember(state, "counts", (sql, params), total)
        return total

    def _store(self, scope, key, value, size):
        with self._lock:
            scope[key] = value
            scope.move_to_end(key)
            while len(scope) > size:
                scope.popitem(last=False)


def search_page(model, domain, order=None, limit=80, offset=0, count_limit=0):
    """``(records, count, exact)``: one page of ``model.search`` and the number of matches
    (``Model.search_page``)."""
    model.check_access("read")
    order = order or model._order
    cache = model.env.registry.query_cache
    key = _key(model, domain, order, limit, offset, count_limit)
    plan = cache.plan(key) if key is not None else None
    if plan is None:
        plan = _compile(model, model._query(domain), order, limit, offset, count_limit)
        if key is not None:
            cache.keep_plan(key, plan)
    search_sql, search_params, count_sql, count_params, rules_applied, names, converters = plan
    env = model.env
    # The page's rows come with every stored column: reading them needs no second query.
    rows = env.db.execute_prepared(search_sql, search_params).fetchall()
    ids = tuple(row[0] for row in rows)
    model._store_rows(names, converters, rows, keep=True)
    if rules_applied:
        env.state.readable.setdefault((env.uid, model._name), set()).update(ids)
    records = model._browse(ids, ids)
    if (limit is None or len(ids) < limit) and (ids or not offset):
        return records, offset + len(ids), True  # the last page: nothing to count
    total = cache.count(env, count_sql, count_params)
    if count_limit and total >= count_limit:
        return records, count_limit, False
    return records, total, True


def search_ids_in(model, field_name, ids) -> list:
    """``model.search_ids([(field_name, "in", ids)])`` in the model's order, for prefetching
    one2many lines: the SQL is compiled once per model, field and size class of ``ids``
    (padded to a power of two by repeating an id), not once per call."""
    ids = list(ids)
    order = model._order
    if not ids or len(ids) > MAX_IN or model.rule_domain("read") or not _plain_order(model, order):
        return model.search_ids([(field_name, "in", ids)])
    env = model.env
    padded = padded_ids(ids)
    size = len(padded)
    key = (
        "in",
        env.registry.version,
        model._name,
        field_name,
        bool(env.context.get("active_test", True)),
        size,
    )
    cache = env.registry.query_cache
    plan = cache.plan(key)
    if plan is None:
        plan = _compile_in(model, field_name, order, size)
        cache.keep_plan(key, plan)
    if plan is False:  # the parameters could not be told apart: the ordinary search
        return model.search_ids([(field_name, "in", ids)])
    sql, params, positions = plan
    params = list(params)
    for position, value in zip(positions, padded, strict=True):
        params[position] = value
    return [row[0] for row in env.db.execute_prepared(sql, params).fetchall()]


MAX_IN = 1024


def padded_ids(ids) -> list:
    """``ids`` made as long as their size class (a power of two, at least 8) by repeating the
    last one, so that ``IN (...)`` lists give a few SQL texts (and prepared statements) in
    all instead of one per length."""
    ids = list(ids)
    size = max(8, 1 << (len(ids) - 1).bit_length())
    return ids + [ids[-1]] * (size - len(ids))


def _compile_in(model, field_name, order, size):
    """``(sql, params, positions of the ids among params)``, compiled with stand-in values
    (negative numbers no row has) found again among the parameters; False when they
    cannot all be found in order."""
    stand_ins = [-1 - index for index in range(size)]
    query = model._query([(field_name, "in", stand_ins)])
    table = query.table
    sql, params = query._base(table.id).order_by(*query.order_by(order)).sql()
    positions = [i for i, value in enumerate(params) if isinstance(value, int) and value < 0]
    if [params[i] for i in positions] != stand_ins:
        return False
    return sql, tuple(params), positions


def _compile(model, query, order, limit, offset, count_limit):
    """The SQL (text and parameters) of the page and of the count of a built query."""
    table = query.table
    terms = query.order_by(order) if order else [table.id.asc()]
    names, _sql, converters = model._fetch_plan()
    page = query._base(*[table._meta.fields[name] for name in names]).order_by(*terms)
    if limit is not None:
        page = page.limit(limit)
    if offset:
        page = page.offset(offset)
    search_sql, search_params = page.sql()
    if count_limit:
        inner_sql, inner_params = query._base(table.id).limit(count_limit).sql()
        count_sql, count_params = f"SELECT COUNT(*) FROM ({inner_sql}) AS capped", inner_params
    else:
        count_sql, count_params = query._base(fn.COUNT(table.id)).sql()
    return (
        search_sql,
        tuple(search_params),
        count_sql,
        tuple(count_params),
        query.rules_applied,
        names,
        converters,
    )


def _key(model, domain, order, limit, offset, count_limit):
    """The cache key of a search, or None when its SQL may depend on more than the key."""
    env = model.env
    rules = model.rule_domain("read")
    if not (_plain(model, domain) and _plain(model, rules) and _plain_order(model, order)):
        return None
    access = getattr(env.state, "access", None) or {}
    try:
        text = json.dumps([domain, rules], sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
    return (
        env.registry.version,
        model._name,
        env.uid,
        env.su,
        access.get("__version__"),
        bool(env.context.get("active_test", True)),
        text,
        order,
        limit,
        offset,
        count_limit,
    )


def _plain(model, domain) -> bool:
    """Whether every term names a stored field of ``model`` compared without relations."""
    if not isinstance(domain, list | tuple):
        return False
    fields = model._fields
    for item in domain:
        if isinstance(item, str):
            continue
        if not isinstance(item, list | tuple) or len(item) != 3:
            return False
        path, operator, value = item
        if not isinstance(path, str) or not isinstance(operator, str):
            return False
        field = fields.get(path)
        if field is None or not field.stored_column or isinstance(field, F._X2many):
            return False
        operator = operator.lower()
        if operator in ("child_of", "parent_of"):
            return False
        if field.type == "many2one" and (
            operator in _NAME_OPERATORS
            or isinstance(value, str)
            or (isinstance(value, list | tuple) and any(isinstance(v, str) for v in value))
        ):
            return False
    return True


def _plain_order(model, order) -> bool:
    if not isinstance(order, str):
        return False
    for part in order.split(","):
        name = part.strip().split(" ")[0]
        field = model._fields.get(name)
        if field is None or field.type == "many2one":
            return False
    return True


__all__ = ["QueryCache", "padded_ids", "search_ids_in", "search_page"]
