"""Pages of the API's list route: columns read by the ORM, serialised a column at a time, and
whole serialised pages answered again while the data cannot have changed.

Searching a page and counting are the ORM's (``Model.search_page``); the pages kept here live
in the registry's ``QueryCache`` (scope ``"api.pages"``), so two registries in one process share
nothing.
"""

from __future__ import annotations

from core.rest import schemas as S


def read_page(records, names=None) -> list[dict]:
    """``dump(records.read(names))`` without building the rows twice: the same checks and
    values as ``read()`` (``Model.read_columns``), converted to JSON a column at a time."""
    names, columns = records.read_columns(names)
    registry = records.env.registry
    return S.model_schemas(type(records), registry).dump_columns(records.ids, names, columns)


class PageCache:
    """Serialised list pages, each valid for one state of the database.

    A page is a function of the data, the user's rights and the request: the key holds the
    registry build, the user, his language, the access version and the query string, and an
    entry is reused only while the registry's ``QueryCache.data_state`` says no data has
    changed since it was made. Pages that show a computed field which is not stored and
    declares no ``depends`` (it may read the clock or anything else) are never kept; one that
    declares what it depends on is a function of the data, like display names.
    """

    SCOPE = "api.pages"

    def __init__(self, size):
        self.size = size

    def cacheable(self, model, names) -> bool:
        fields = model._fields
        if names is None:
            names = [n for n, f in fields.items() if f.type != "binary"]
        return all(
            not (fields[n].compute and not fields[n].store and not fields[n].depends)
            or n == "display_name"
            for n in names
        )

    def key(self, env, query_string, extra=()):
        access = getattr(env.state, "access", None) or {}
        return (
            env.registry.version,
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
        return env.registry.query_cache.recall(env, self.SCOPE, key)

    def put(self, env, state, key, body):
        env.registry.query_cache.remember(state, self.SCOPE, key, body, self.size)
