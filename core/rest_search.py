"""One page of a REST search and its total, with the compiled SQL cached per process.

Building a ``core.domain.Query`` and letting peewee compile it costs more than running the
resulting SQL on a page of 80 rows, and list requests repeat the same domain over and over.
``search_page`` therefore keeps the SQL text and parameters of the search and of the count
per (registry build, model, user, access version, domain, rules, order, limit, offset,
active filter). Only queries whose SQL depends on nothing else are cached: every term of
the domain and of the user's record rules names a plain stored field of the model itself
(no path through a relation, no many2one compared by name, no x2many, no hierarchy), and
the order names no many2one (ordering by one joins the target through its rules). Anything
else goes through the ORM as before. Access checks are unchanged: the model right is
checked on every call, field groups are part of the key through the access version, and
the ids found are registered as rule-checked exactly as ``Model._search`` does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from peewee import fn

from . import fields as F

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
            _put(key, plan)
    search_sql, search_params, count_sql, count_params, rules_applied = plan
    db = model.env.db
    ids = tuple(row[0] for row in db.execute_sql(search_sql, search_params).fetchall())
    if rules_applied:
        model.env.state.readable.setdefault((model.env.uid, model._name), set()).update(ids)
    records = model._browse(ids, ids)
    if (limit is None or len(ids) < limit) and (ids or not offset):
        return records, offset + len(ids), True  # the last page: nothing to count
    total = db.execute_sql(count_sql, count_params).fetchone()[0] or 0
    if count_limit and total >= count_limit:
        return records, count_limit, False
    return records, total, True


def _compile(model, query, order, limit, offset, count_limit):
    """The SQL (text and parameters) of the page and of the count of a built query."""
    table = query.table
    terms = query.order_by(order) if order else [table.id.asc()]
    page = query._base(table.id).order_by(*terms)
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
    )


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


def _put(key, plan):
    with _lock:
        _cache[key] = plan
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
