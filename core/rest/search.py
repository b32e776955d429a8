"""One page of a REST search and its total, cheaply: cached SQL, reused counts and pages.

- Building a ``core.orm.domain.Query`` and letting peewee compile it costs more than running the
  SQL on a page of 80 rows, and lists repeat the same domain over and over: the SQL text and
  parameters of the page and of its count are kept per (registry build, model, user, access
  version, domain, evaluated rules, order, limit, offset, active filter), for queries whose
  SQL depends on nothing else: every term of the domain and of the rules names a plain
  stored field of the model (no path through a relation, no many2one compared by name, no
  x2many, no hierarchy) and the order names no many2one (those embed other models' rules).
- Counting every matching row is most of what a page costs, and a list is reloaded far more
  often than its table changes: the result of a count is reused while the database cannot
  have changed since (``_data_state``). ``PageCache`` does the same for whole list pages.

Access checks are unchanged: the model right is checked on every call, field groups are
part of the keys through the access version, and the ids found are registered as
rule-checked exactly as ``Model._search`` does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from peewee import fn

from core.db.connection import is_postgres
from core.orm import fields as F
from core.rest import schemas as S

CACHE_SIZE = 512
_NAME_OPERATORS = ("like", "ilike", "not like", "not ilike", "=like", "=ilike")
_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()


def search_page(model, domain, order=None, limit=80, offset=0, count_limit=0):
    """``(records, count, exact)``: one page of ``model.search`` and the number of matches.

    ``count_limit`` > 0 caps the count (``exact`` is then False when the cap was reached),
    so that a list over a huge table does not scan all of it. When the page is not full
    the total is known without counting.
    """
    model.check_access("read")
    order = order or model._order
    key = _key(model, domain, order, limit, offset, count_limit)
    plan = _get(key) if key is not None else None
    if plan is None:
        query = model._query(domain)
        plan = _compile(model, query, order, limit, offset, count_limit)
        if key is not None:
            _store(_cache, key, plan, CACHE_SIZE)
    search_sql, search_params, count_sql, count_params, rules_applied, names, converters = plan
    db = model.env.db
    # The page's rows come with every stored column: reading them needs no second query.
    rows = db.execute_prepared(search_sql, search_params).fetchall()
    ids = tuple(row[0] for row in rows)
    model._store_rows(names, converters, rows, keep=True)
    if rules_applied:
        model.env.state.readable.setdefault((model.env.uid, model._name), set()).update(ids)
    records = model._browse(ids, ids)
    if (limit is None or len(ids) < limit) and (ids or not offset):
        return records, offset + len(ids), True  # the last page: nothing to count
    total = _count(db, count_sql, count_params, model.env)
    if count_limit and total >= count_limit:
        return records, count_limit, False
    return records, total, True


def read_page(records, names=None) -> list[dict]:
    """``dump(records.read(names))`` without building the rows twice: the same checks and
    values as ``read()`` (visible fields, field groups, record rules, display names of
    related records), converted to JSON a column at a time."""
    model = type(records)
    records.check_access("read")
    if names is None:
        names = [
            n
            for n, f in model._fields.items()
            if f.type != "binary" and n != "id" and records._field_visible(n)
        ]
    else:
        names = [n for n in names if n != "id"]
    records._check_field_access(names, "read")
    records._check_record_rules("read")
    ids = records.ids
    if not ids:
        return []
    loaded = records.with_context(active_test=False)
    fetched = records.env.state.cache.get(model._fields["id"], {})
    missing = [i for i in ids if i not in fetched]  # search_page brought the others along
    if missing:
        loaded._browse(tuple(missing))._fetch_columns(missing)
    columns = [records._read_column(loaded, ids, model._fields[name]) for name in names]
    return S.model_schemas(model).dump_columns(ids, names, columns)


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


# -- list pages, answered again while the data cannot have changed ---------------------------------------
class PageCache:
    """Serialised list pages of one process, each valid for one state of the database.

    A page is a function of the data, the user's rights and the request: the key holds the
    registry build, the user, his language, the access version and the query string, and an
    entry is reused only while ``_data_state`` says no data has changed since it was made.
    Pages that show computed fields which are not stored (they may depend on the time or on
    anything else) are never kept; display names count as data.
    """

    def __init__(self, size):
        self.size = size

    def cacheable(self, model, names) -> bool:
        fields = model._fields
        if names is None:
            names = [n for n, f in fields.items() if f.type != "binary"]
        return all(
            not (fields[n].compute and not fields[n].store) or n == "display_name" for n in names
        )

    def key(self, env, query_string, extra=()):
        access = getattr(env.state, "access", None) or {}
        registry = env.registry
        return (
            "page",
            id(registry),
            registry.version,
            env.uid,
            env.su,
            env.lang,
            access.get("__version__"),
            query_string,
            *extra,
        )

    def get(self, env, key):
        """``(body or None, state)``; call after the transaction's first query (the access
        version), so that SQLite's read snapshot is the one the page will be made from."""
        state = _data_state(env.db, env)
        if state is None:
            return None, None
        scopes, token = state
        with _lock:
            found = scopes["pages"].get(key)
        if found is not None and found[0] == token:
            return found[1], state
        return None, state

    def put(self, state, key, body):
        if state is None:
            return
        scopes, token = state
        _store(scopes["pages"], key, (token, body), self.size)


def _store(scope, key, value, size):
    with _lock:
        scope[key] = value
        scope.move_to_end(key)
        while len(scope) > size:
            scope.popitem(last=False)


def _scopes():
    return {"counts": OrderedDict(), "pages": OrderedDict()}


# -- counts, reused while the data cannot have changed ----------------------------------------------------
def _count(db, sql, params, env=None) -> int:
    """The result of a COUNT query, taken from the last identical query when no data can
    have changed since (same SQL text and parameters, same state of the database as seen
    by this connection); see ``_data_state``."""
    state = _data_state(db, env)
    if state is None:
        return db.execute_prepared(sql, params).fetchone()[0] or 0
    scopes, token = state
    key = (sql, params)
    with _lock:
        found = scopes["counts"].get(key)
    if found is not None and found[0] == token:
        return found[1]
    total = db.execute_prepared(sql, params).fetchone()[0] or 0
    _store(scopes["counts"], key, (token, total), CACHE_SIZE)
    return total


_pg_scopes: OrderedDict = OrderedDict()  # (database, host, port) -> scopes
_sqlite_scopes: OrderedDict = OrderedDict()  # id(connection) -> (connection, scopes)
_MAX_CONNECTIONS = 64


def _data_state(db, env=None):
    """``(cache scopes, token)``: equal tokens in one scope mean the same data, or None.

    PostgreSQL: the transaction's snapshot (``xmin:xmax:xip``): two identical snapshots see
    exactly the same committed rows. It is read before the count, so a commit in between
    shows in every later snapshot and the entry can never be reused wrongly. A transaction
    that has written (it has an id) sees its own rows: no reuse then.
    SQLite: ``PRAGMA data_version`` (changes by other connections, fixed for the read
    transaction, which the search query has already opened) with the connection's
    ``total_changes`` (its own changes), per connection.
    With ``env``, PostgreSQL's snapshot is the one read with the access version
    (``core.orm.access``): at the start of the transaction, or for a read with an API key in
    the statement just before it. A page or count made afterwards in the transaction may
    then include a commit that ended in between; it is only ever reused for requests whose
    snapshot was taken before that commit ended (any later snapshot differs), which ran at
    the same time as it.
    """

    if is_postgres(db):
        taken = getattr(env.state, "pg_snapshot", None) if env is not None else None
        if taken is None:
            taken = db.execute_sql(
                "SELECT txid_current_snapshot()::text, txid_current_if_assigned()"
            ).fetchone()
        snapshot, own = taken
        if own is not None:
            return None
        # Databases of one server share transaction ids, so snapshots: one scope each.
        params = db.connect_params
        where = (db.database, params.get("host"), params.get("port"))
        with _lock:
            scopes = _pg_scopes.get(where)
            if scopes is None:
                scopes = _pg_scopes[where] = _scopes()
                while len(_pg_scopes) > _MAX_CONNECTIONS:
                    _pg_scopes.popitem(last=False)
        return scopes, snapshot
    conn = db.connection()
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    with _lock:
        # Holding the connection keeps its id from being reused by another one.
        entry = _sqlite_scopes.get(id(conn))
        if entry is None or entry[0] is not conn:
            entry = _sqlite_scopes[id(conn)] = (conn, _scopes())
            while len(_sqlite_scopes) > _MAX_CONNECTIONS:
                _sqlite_scopes.popitem(last=False)
        else:
            _sqlite_scopes.move_to_end(id(conn))
    return entry[1], (version, conn.total_changes)


# -- the cache ----------------------------------------------------------------------------------------
def _key(model, domain, order, limit, offset, count_limit):
    """The cache key of a search, or None when its SQL may depend on more than the key."""
    env = model.env
    rules = model._rule_domain("read")
    if not (_plain(model, domain) and _plain(model, rules) and _plain_order(model, order)):
        return None
    access = getattr(env.state, "access", None) or {}
    try:
        text = json.dumps([domain, rules], sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
    registry = env.registry
    return (
        id(registry),
        registry.version,
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


def _get(key):
    with _lock:
        plan = _cache.get(key)
        if plan is not None:
            _cache.move_to_end(key)
        return plan
