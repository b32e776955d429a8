"""Model declarations and recordsets: the ORM every addon programs against."""

from __future__ import annotations

from core.db.connection import is_postgres
from core.exceptions import AccessError, ConflictError, MissingError, UserError, ValidationError
from core.orm import api, pages
from core.orm import fields as F
from core.orm.access import VERBS
from core.orm.domain import Query
from core.orm.support import MAGIC_FIELDS, _chunks, utcnow
from core.orm.write import create_records, unlink_records, write_records

PREFETCH_MAX = 1000


class MetaModel(type):
    """Moves the fields declared in a class body into ``_own_fields``."""

    def __new__(mcs, name, bases, attrs):
        own = {key: value for key, value in attrs.items() if isinstance(value, F.Field)}
        for key in own:
            del attrs[key]
        attrs["_own_fields"] = own
        return super().__new__(mcs, name, bases, attrs)


class Model(metaclass=MetaModel):
    """Base of declarations (``_name``) and extensions (``_inherit``), and of recordsets.

    A recordset is an ordered set of records of one model bound to an environment:
    ``env["crm.lead"].search([...])``. The registry composes the final class of each model
    from its declaration and every extension, in dependency order.
    """

    _name: str | None = None
    _inherit: str | list | tuple | None = None
    _description: str | None = None
    _order = "id"
    _rec_name: str | None = None
    _abstract = False
    _sql_constraints: list = []
    _parent_name = "parent_id"

    # Set on the final class by the registry.
    _fields: dict = {}
    _registry = None
    _table = None
    _addon = None

    def __init__(self, env, ids=(), prefetch_ids=None):
        self.env = env
        self._ids = ids
        self._prefetch_ids = ids if prefetch_ids is None else prefetch_ids

    @classmethod
    def _browse_cls(cls, env, ids, prefetch_ids):
        record = object.__new__(cls)
        record.env = env
        record._ids = ids
        record._prefetch_ids = ids if prefetch_ids is None else prefetch_ids
        return record

    def _browse(self, ids, prefetch_ids=None):
        return self._browse_cls(self.env, ids, prefetch_ids)

    # -- recordset basics ------------------------------------------------------------------
    def browse(self, ids=()):
        """Records of this model with the given id or ids (not checked to exist)."""
        if ids is None or ids is False:
            ids = ()
        elif isinstance(ids, int):
            ids = (ids,)
        else:
            ids = tuple(ids)
        return self._browse(ids, ids)

    @property
    def ids(self) -> list:
        return [i for i in self._ids if not isinstance(i, F.NewId)]

    @property
    def id(self):
        if not self._ids:
            return False
        self.ensure_one()
        return self._ids[0]

    def ensure_one(self):
        if len(self._ids) != 1:
            raise ValueError(
                f"Expected a single {self._name} record, got {len(self._ids)}: {self!r}"
            )
        return self

    def __len__(self):
        return len(self._ids)

    def __bool__(self):
        return bool(self._ids)

    def __iter__(self):
        browse, env, prefetch = self._browse_cls, self.env, self._prefetch_ids
        for id_ in self._ids:
            yield browse(env, (id_,), prefetch)

    def __getitem__(self, key):
        if isinstance(key, str):
            return getattr(self, key)
        if isinstance(key, slice):
            return self._browse(self._ids[key], self._prefetch_ids)
        return self._browse((self._ids[key],), self._prefetch_ids)

    def __contains__(self, item):
        return bool(item._ids) and item._ids[0] in self._ids

    def __eq__(self, other):
        return (
            isinstance(other, Model)
            and other._name == self._name
            and set(other._ids) == set(self._ids)
        )

    def __hash__(self):
        return hash((self._name, frozenset(self._ids)))

    def __or__(self, other):
        return self._browse(tuple(dict.fromkeys(self._ids + other._ids)))

    def __add__(self, other):
        return self._browse(self._ids + other._ids)

    def __and__(self, other):
        keep = set(other._ids)
        return self._browse(tuple(i for i in self._ids if i in keep))

    def __sub__(self, other):
        drop = set(other._ids)
        return self._browse(tuple(i for i in self._ids if i not in drop))

    def __repr__(self):
        return f"{self._name}{tuple(self._ids)!r}"

    def filtered(self, func):
        """The records for which ``func(record)`` (or the field named ``func``) is truthy."""
        if isinstance(func, str):
            name = func
            func = lambda rec: rec.mapped(name)  # noqa: E731
        return self._browse(tuple(rec._ids[0] for rec in self if func(rec)), self._prefetch_ids)

    def mapped(self, func):
        """Values of a field path (``"partner_id.name"``) or of ``func`` over the records."""
        if callable(func):
            return [func(rec) for rec in self]
        recs = self
        for name in func.split("."):
            field = recs._fields[name]
            if field.relational:
                result = recs.env[field.comodel_name]
                collected = []
                for rec in recs:
                    collected.extend(getattr(rec, name)._ids)
                recs = result._browse(tuple(dict.fromkeys(collected)))
            else:
                return [getattr(rec, name) for rec in recs]
        return recs

    def sorted(self, key=None, reverse=False):
        if key is None:
            ids = self.search([("id", "in", self.ids)])._ids
            return self._browse(tuple(reversed(ids)) if reverse else ids, self._prefetch_ids)
        if isinstance(key, str):
            name = key
            key = lambda rec: getattr(rec, name)  # noqa: E731
        ordered = sorted(self, key=key, reverse=reverse)
        return self._browse(tuple(rec._ids[0] for rec in ordered), self._prefetch_ids)

    def exists(self):
        """The records that still exist in the database."""
        real = self.ids
        if not real:
            return self._browse(())
        T = self._table
        found = set()
        for chunk in _chunks(real, PREFETCH_MAX):
            found.update(row[0] for row in T.select(T.id).where(T.id.in_(chunk)).tuples())
        return self._browse(tuple(i for i in self._ids if i in found))

    # -- environment switches -------------------------------------------------------------------
    def with_env(self, env):
        return self._browse_cls(env, self._ids, self._prefetch_ids)

    def sudo(self, flag=True):
        return self.with_env(self.env.sudo(flag))

    def with_user(self, user):
        return self.with_env(self.env.with_user(user))

    def with_context(self, *args, **kwargs):
        return self.with_env(self.env.with_context(*args, **kwargs))

    # -- access-control seams (filled by the access-control layer) ------------------------------------
    def check_access(self, operation: str):
        """Raise AccessError unless the user may ``operation`` (read/create/write/unlink) this model."""
        if self.env.su:
            return True
        checker = self.env.registry.access
        if checker is not None:
            checker.check_model(self.env, self._name, operation)
        return True

    def rule_domain(self, operation: str) -> list:
        """The record-rule domain that limits what the user may ``operation``; [] for all."""
        if self.env.su or self.env.registry.access is None:
            return []
        return self.env.registry.access.rule_domain(self.env, self._name, operation)

    def check_access_rule(self, operation: str):
        """Raise AccessError when some of these records are outside the user's rules."""
        domain = self.rule_domain(operation)
        if not domain or not self.ids:
            return
        known = (
            self.env.state.readable.get((self.env.uid, self._name), ())
            if operation == "read"
            else ()
        )
        ids = {i for i in self.ids if i not in known}
        if not ids:
            return  # all came from a search that applied the same rules
        allowed = set(
            self.sudo()
            .with_context(active_test=False)
            .search_ids([("id", "in", list(ids))] + domain)
        )
        if len(allowed) != len(ids):
            env = self.env
            raise AccessError(
                env.translate(
                    "You may not %(verb)s some of these %(model)s records.",
                    verb=env.translate(VERBS.get(operation, operation)),
                    model=env.translate(self._description or self._name),
                )
            )

    def check_field_access(self, names, operation: str):
        """Raise AccessError when a field is hidden from the user (field groups)."""
        if self.env.su or self.env.registry.access is None:
            return
        self.env.registry.access.check_fields(self.env, self._name, names, operation)

    # -- field values through the cache ----------------------------------------------------------------
    def _get_value(self, field):
        ids = self._ids
        if len(ids) != 1:
            if not ids:
                return (
                    field.convert_to_cache(None, self.env)
                    if field.type == "boolean"
                    else (() if isinstance(field, F._X2many) else None)
                )
            raise ValueError(
                f"Expected a single {self._name} record to read {field.name}, got {len(ids)}"
            )
        id_ = ids[0]
        state = self.env.state
        if field.compute and field.store:
            pending = state.tocompute.get(field)
            if pending and id_ in pending:
                self.env.recompute(field)
        fcache = state.cache.get(field)
        if fcache is not None:
            try:
                return fcache[id_]
            except KeyError:
                pass
        if isinstance(id_, F.NewId):
            return () if isinstance(field, F._X2many) else None
        self._fetch_field(field)
        try:
            return state.cache[field][id_]
        except KeyError:
            raise MissingError(
                f"Record {self._name}({id_}) does not exist or was deleted."
            ) from None

    def _set_value(self, field, value):
        state = self.env.state
        protected = state.protected.get(field)
        ids = self._ids
        if protected is not None and (
            ids[0] in protected if len(ids) == 1 else all(i in protected for i in ids)
        ):
            value = field.convert_to_cache(value, self.env)
            if isinstance(field, F._X2many):
                value = tuple(value._ids) if hasattr(value, "_ids") else tuple(value or ())
            fcache = state.cache.get(field)
            if fcache is None:
                fcache = state.cache[field] = {}
            for id_ in ids:
                fcache[id_] = value
            return
        self.write({field.name: value})

    def _prefetch_batch(self, field):
        """The ids to fetch ``field`` for: this record plus uncached ones from its prefetch set."""
        id_ = self._ids[0]
        fcache = self.env.state.cache.get(field, {})
        batch = [id_]
        seen = {id_}
        for other in self._prefetch_ids:
            if len(batch) >= PREFETCH_MAX:
                break
            if other not in seen and other not in fcache and not isinstance(other, F.NewId):
                batch.append(other)
                seen.add(other)
        return batch

    def _related_prefetch(self, field):
        return _M2oPrefetch(self.env.state.cache.get(field, {}), self._prefetch_ids)

    def _fetch_field(self, field):
        batch = self._prefetch_batch(field)
        if field.compute and not field.store:
            self._browse(tuple(batch))._compute_into_cache(field)
        elif field.stored_column:
            self._fetch_columns(batch)
        elif field.type == "one2many":
            self._fetch_one2many(field, batch)
        elif field.type == "many2many":
            self._fetch_many2many(field, batch)
        elif field.type == "binary":
            self._fetch_binary(field, batch)

    def _fetch_columns(self, ids, only=None):
        """Load every stored column of the records (or the ``only`` ones) in one query; the
        SQL is built once per model and set of columns."""
        names, select_sql, converters = self._fetch_plan(only)
        db = self._table._meta.database
        param = db.param
        for chunk in _chunks(list(ids), PREFETCH_MAX):
            cursor = db.execute_prepared(f"{select_sql} ({', '.join([param] * len(chunk))})", chunk)
            self._store_rows(names, converters, cursor.fetchall())

    def _store_rows(self, names, converters, rows, keep=False):
        """Put fetched rows (the columns of ``names``, ``id`` first, as ``_fetch_plan``
        gives them) into the cache; ``keep`` leaves values the cache already holds (rows a
        search brought along must not hide what this transaction changed). Column by
        column: one ``dict.update`` per field instead of one assignment per value."""
        if not rows:
            return
        cache = self.env.state.cache
        columns = list(zip(*rows, strict=True))
        for index, convert in converters:
            columns[index] = [None if v is None else convert(v) for v in columns[index]]
        ids = columns[0]
        for name, column in zip(names, columns, strict=True):
            fcache = cache.setdefault(self._fields[name], {})
            if keep and not fcache.keys().isdisjoint(ids):
                for id_, value in zip(ids, column, strict=True):
                    fcache.setdefault(id_, value)
            else:
                fcache.update(zip(ids, column, strict=True))

    @classmethod
    def _fetch_plan(cls, only=None):
        """(column names, SELECT ... WHERE id IN, [(index, converter)]) of this final class,
        for all stored columns or ``id`` and the ``only`` ones."""
        plans = cls.__dict__.get("_fetch_plan_cache")
        if plans is None:
            plans = cls._fetch_plan_cache = {}
        key = None if only is None else frozenset(only)
        plan = plans.get(key)
        if plan is None:
            table = cls._table
            names = [
                f.name
                for f in cls._fields.values()
                if f.stored_column and (key is None or f.name == "id" or f.name in key)
            ]
            columns = [table._meta.fields[name] for name in names]
            quoted = ", ".join('"' + column.column_name + '"' for column in columns)
            sql = f'SELECT {quoted} FROM "{table._meta.table_name}" WHERE "id" IN'
            converters = [
                (index, column.python_value)
                for index, (name, column) in enumerate(zip(names, columns, strict=True))
                if cls._fields[name].type
                in ("date", "datetime", "monetary", "boolean", "json", "binary")
            ]
            plan = plans[key] = (names, sql, converters)
        return plan

    def _fetch_one2many(self, field, ids):
        comodel = self.env[field.comodel_name].with_context(active_test=True)
        inverse = comodel._fields[field.inverse_name]
        grouped = {i: [] for i in ids}
        found = pages.search_ids_in(comodel.sudo(), field.inverse_name, ids)
        fcache_inverse = self.env.state.cache.get(inverse, {})
        missing = [i for i in found if i not in fcache_inverse]
        if missing:
            comodel._browse(tuple(missing))._fetch_columns(missing)
            fcache_inverse = self.env.state.cache[inverse]
        for line_id in found:
            parent = fcache_inverse.get(line_id)
            if parent in grouped:
                grouped[parent].append(line_id)
        fcache = self.env.state.cache.setdefault(field, {})
        for parent, lines in grouped.items():
            fcache[parent] = tuple(lines)

    def _fetch_many2many(self, field, ids):
        rel = self._registry.relation_tables[(self._name, field.name)]
        c1, c2 = getattr(rel, field.column1), getattr(rel, field.column2)
        grouped = {i: [] for i in ids}
        db = self.env.db
        for chunk in _chunks(list(ids), PREFETCH_MAX):
            padded = pages.padded_ids(chunk)  # one SQL text per size class of the chunk
            marks = ", ".join([db.param] * len(padded))
            sql = (
                f'SELECT "{c1.column_name}", "{c2.column_name}" FROM "{rel._meta.table_name}" '
                f'WHERE "{c1.column_name}" IN ({marks}) ORDER BY "{c2.column_name}"'
            )
            for left, right in db.execute_prepared(sql, padded).fetchall():
                grouped[left].append(right)
        fcache = self.env.state.cache.setdefault(field, {})
        for key, value in grouped.items():
            fcache[key] = tuple(value)

    def _fetch_binary(self, field, ids):
        Attachment = self._registry.tables["ir.attachment"]
        found = dict.fromkeys(ids)
        query = Attachment.select(Attachment.res_id, Attachment.datas).where(
            (Attachment.res_model == self._name)
            & (Attachment.res_field == field.name)
            & Attachment.res_id.in_(list(ids))
        )
        for res_id, datas in query.tuples():
            found[res_id] = bytes(datas) if datas is not None else None
        self.env.state.cache.setdefault(field, {}).update(found)

    def _compute_into_cache(self, field):
        """Run a compute method on these records, its results landing in the cache."""
        fields_ = self._registry.fields_computed_by(self._name, field.compute)
        state = self.env.state
        saved = {f: state.protected.get(f) for f in fields_}
        for f in fields_:
            state.protected[f] = set(self._ids) | (saved[f] or set())
        try:
            getattr(self, field.compute)()
        finally:
            for f in fields_:
                if saved[f] is None:
                    state.protected.pop(f, None)
                else:
                    state.protected[f] = saved[f]
        for f in fields_:
            fcache = state.cache.setdefault(f, {})
            empty = () if isinstance(f, F._X2many) else (False if f.type == "boolean" else None)
            for id_ in self._ids:
                fcache.setdefault(id_, empty)

    # -- display names ------------------------------------------------------------------------------
    def _compute_display_name(self):
        rec_name = self.rec_name_field()
        field = self._fields.get(rec_name) if rec_name else None
        if field is not None and field.type in ("char", "text") and field.stored_column:
            # The usual case, in bulk from the cache: one fetch for the batch, no per-record calls.
            cache = self.env.state.cache
            real = [i for i in self._ids if not isinstance(i, F.NewId)]
            missing = [i for i in real if i not in cache.get(field, ())]
            if missing:  # the name only: showing a link needs nothing else of the record
                self._fetch_columns(missing, only=(rec_name,))
            values, target = (
                cache.get(field, {}),
                cache.setdefault(self._fields["display_name"], {}),
            )
            for id_ in self._ids:
                value = values.get(id_)
                target[id_] = value if isinstance(value, str) else ""
            return
        for rec in self:
            if rec_name:
                value = getattr(rec, rec_name)
                rec.display_name = value if isinstance(value, str) else str(value or "")
            else:
                rec.display_name = f"{rec._description} #{rec.id}"

    @classmethod
    def rec_name_field(cls):
        if cls._rec_name:
            return cls._rec_name
        return "name" if "name" in cls._fields else None

    def display_names(self) -> dict:
        """``{id: display name}`` for these records, those the user may not read marked so."""
        if not self:
            return {}
        allowed = self
        if not self.env.su and self.rule_domain("read"):
            allowed = self.browse(
                self.with_context(active_test=False).search_ids([("id", "in", self.ids)])
            )
        restricted = self.env.translate("Restricted")
        names = dict.fromkeys(self._ids, restricted)
        rec_name = self._fields.get(self.rec_name_field() or "")
        # Names of shipped data (stages, reasons) are English in the database and
        # translated through the addons' catalogs, as labels are.
        translate = self.env.translate if getattr(rec_name, "translate", False) else None
        target = allowed.sudo().with_context(active_test=False)
        field = self._fields["display_name"]
        cache = self.env.state.cache
        missing = [i for i in target._ids if i not in cache.get(field, ())]
        for chunk in _chunks(missing, PREFETCH_MAX):  # in bulk, not a record at a time
            target._browse(tuple(chunk))._compute_into_cache(field)
        computed = cache.get(field, {})
        for id_ in target._ids:
            name = computed.get(id_)
            names[id_] = translate(name) if translate and name else name
        return names

    def _display_name_for_read(self):
        return self.display_names().get(self.id)

    # -- search ------------------------------------------------------------------------------------------
    def _query(self, domain=(), operation="read"):
        """A Query over this model with the domain, the active filter and the record rules."""

        query = Query(self)
        query.add_domain(list(domain or ()))
        rules = self.rule_domain(operation)
        if rules:
            query.add_domain(rules, apply_active=False)
            query.rules_applied = operation == "read"
        return query

    def search_ids(self, domain=(), order=None, limit=None, offset=0) -> list:
        self.check_access("read")
        query = self._query(domain)
        ids = query.select_ids(order or self._order, limit, offset)
        if query.rules_applied:
            self.env.state.readable.setdefault((self.env.uid, self._name), set()).update(ids)
        return ids

    def search_per_group(self, domain, group_field, limit=20, order=None) -> dict:
        """``{value of group_field: records}``: the first ``limit`` matches of each group, in
        one query (kanban columns)."""
        self.check_access("read")
        self.check_field_access([group_field], "read")
        query = self._query(domain)
        groups = query.select_ids_per_group(group_field, order or self._order, limit)
        all_ids = tuple(i for ids in groups.values() for i in ids)
        if query.rules_applied:
            self.env.state.readable.setdefault((self.env.uid, self._name), set()).update(all_ids)
        return {key: self._browse(tuple(ids), all_ids) for key, ids in groups.items()}

    def search(self, domain=(), order=None, limit=None, offset=0):
        """Records matching an Odoo-style domain, sorted by ``order``."""
        ids = tuple(self.search_ids(domain, order, limit, offset))
        return self._browse(ids, ids)

    def search_page(self, domain=(), order=None, limit=80, offset=0, count_limit=0):
        """``(records, count, exact)``: one page of ``search`` and how many records match
        in all, for lists. The page's rows come with every stored column (reading them
        needs no second query), the SQL of a repeated search is compiled once, and the
        count is reused while the data cannot have changed. ``count_limit`` > 0 caps the
        count (``exact`` is then False when the cap was reached); on the last page the
        total is known without counting."""
        return pages.search_page(self, list(domain or ()), order, limit, offset, count_limit)

    def search_count(self, domain=(), limit=None) -> int:
        """How many records match; with ``limit``, counting stops there (capped counts)."""
        self.check_access("read")
        return self._query(domain).count(limit)

    def name_search(self, name="", domain=None, operator="ilike", limit=8) -> list:
        """``[(id, display_name)]`` of records whose name matches, for autocompletion."""
        domain = list(domain or [])
        rec_name = self.rec_name_field()
        if name and rec_name:
            domain = domain + [(rec_name, operator, name)]
        records = self.search(domain, limit=limit)
        names = records.display_names()
        return [(id_, names[id_]) for id_ in records._ids]

    def read_group(
        self, domain, groupby, aggregates=("__count",), order=None, limit=None, offset=0
    ):
        """Grouped counts and aggregates, e.g. ``groupby=["stage_id", "create_date:month"]``,
        ``aggregates=["expected_revenue:sum", "__count"]``. One row per group."""
        self.check_access("read")
        if isinstance(groupby, str):
            groupby = [groupby]
        return self._query(domain).read_group(list(groupby), list(aggregates), order, limit, offset)

    # -- read -------------------------------------------------------------------------------------------
    def read(self, fields=None) -> list[dict]:
        """The values of ``fields`` (all but binary by default) as a list of dicts."""
        ids, names, columns = self._read_columns(fields)
        return [
            {
                "id": id_,
                **{name: column[index] for name, column in zip(names, columns, strict=True)},
            }
            for index, id_ in enumerate(ids)
        ]

    def read_columns(self, fields=None) -> tuple[list[str], list[list]]:
        """``(names, columns)``: what ``read`` returns, a column per field (values in the
        order of the records), without building a dict per row: the API serialises pages
        from it. The same checks as ``read`` (visible fields, field groups, record rules);
        rows already in the cache (a ``search_page`` brings every stored column along) are
        not fetched again."""
        _ids, names, columns = self._read_columns(fields)
        return names, columns

    def _read_columns(self, fields):
        self.check_access("read")
        if fields is None:
            names = [
                n
                for n, f in self._fields.items()
                if f.type != "binary" and n != "id" and self.field_visible(n)
            ]
        else:
            names = [n for n in fields if n != "id"]
            unknown = [n for n in names if n not in self._fields]
            if unknown:
                raise ValidationError(
                    f"{self._name} has no field {unknown[0]!r}", unknown[0], self._name
                )
        self.check_field_access(names, "read")
        self.check_access_rule("read")
        records = self.with_context(active_test=False)
        ids = self.ids
        if ids:
            stored = [self._fields[n] for n in names if self._fields[n].stored_column]
            missing = self._not_cached(ids, stored)
            if missing:
                # Only the columns asked for when few are: a list or a board reads a handful
                # of a wide model's columns for thousands of rows.
                only = [f.name for f in stored] if fields is not None and len(stored) < 8 else None
                records._browse(tuple(missing))._fetch_columns(missing, only)
        columns = [self._read_column(records, ids, self._fields[name]) for name in names]
        return ids, names, columns

    def _not_cached(self, ids, fields) -> list:
        """The ``ids`` (in order) lacking a cached value of one of ``fields``: set
        differences against each field's cache, no Python loop per value."""
        cache = self.env.state.cache
        wanted, missing = set(ids), set()
        for field in fields:
            fcache = cache.get(field)
            if not fcache:
                return list(ids)
            missing |= wanted.difference(fcache)
            if len(missing) == len(wanted):
                return list(ids)
        return [i for i in ids if i in missing] if missing else []

    def _read_column(self, records, ids, field) -> list:
        """The values of one field for ``ids`` as ``read()`` returns them, from the cache."""
        state = self.env.state
        fcache = state.cache.get(field)
        pending = state.tocompute.get(field) if field.compute and field.store else None
        if fcache is not None and not pending and all(i in fcache for i in ids):
            values = [fcache[i] for i in ids]
        else:  # not loaded yet (x2many, computed, binary): the per-record path fetches in batches
            values = [rec._get_value(field) for rec in records]
        if field.type == "many2one":
            names = (
                self.env[field.comodel_name]
                .browse({v for v in values if v is not None})
                .display_names()
            )
            return [None if v is None else (v, names.get(v)) for v in values]
        if isinstance(field, F._X2many):
            return [list(v or ()) for v in values]
        return values

    def default_get(self, names=None) -> dict:
        """Default values of the named fields (all by default) for a new record."""
        result = {}
        for name, field in self._fields.items():
            if (names is None or name in names) and field.default is not None:
                result[name] = field.default_value(self)
        context_defaults = {
            k[len("default_") :]: v for k, v in self.env.context.items() if k.startswith("default_")
        }
        result.update({k: v for k, v in context_defaults.items() if k in self._fields})
        return result

    def fields_get(self) -> dict:
        """Metadata of the fields this user may see, for views and the API."""
        return {
            name: field.describe()
            for name, field in self._fields.items()
            if self.field_visible(name)
        }

    def field_visible(self, name) -> bool:
        access = self.env.registry.access
        return self.env.su or access is None or access.field_allowed(self.env, self._name, name)

    # -- create -----------------------------------------------------------------------------------------
    def create(self, vals_list):
        """Create one record from a dict or many from a list of dicts, in batches."""
        single = isinstance(vals_list, dict)
        if single:
            vals_list = [vals_list]
        vals_list = list(vals_list)
        if not vals_list:
            return self.browse()
        self.check_access("create")

        with self.env.atomic():
            records = create_records(self, vals_list)
            records.check_access_rule("create")
        return records

    def write(self, vals):
        """Change the records; ``vals`` maps field names to new values (x2many: commands)."""
        if not self._ids:
            return True
        self.check_access("write")
        self.check_access_rule("write")

        with self.env.atomic():
            write_records(self, dict(vals))
        return True

    def unlink(self):
        """Delete the records (rows that reference them follow their ``ondelete``)."""
        if not self._ids:
            return True
        self.check_access("unlink")
        self.check_access_rule("unlink")

        with self.env.atomic():
            unlink_records(self)
        return True

    def copy(self, default=None):
        """A copy of one record, with fields marked ``copy=False`` left to their defaults."""
        self.ensure_one()
        vals = {}
        for name, field in self._fields.items():
            if name in MAGIC_FIELDS or not field.copy or (field.compute and not field.store):
                continue
            if field.compute or field.type == "one2many":
                continue
            value = self._get_value(field)
            vals[name] = [(6, 0, list(value))] if field.type == "many2many" else value
        vals.update(default or {})
        return self.create(vals)

    @api.public
    def message_history(self, limit=100):
        """The history of one record (newest first), for users who may read the record."""
        self.ensure_one()
        self.check_access("read")
        self.check_access_rule("read")
        if "mail.message" not in self.env.registry.models:
            return []
        Message = self.env["mail.message"].sudo()
        entries = Message.search(
            [("model", "=", self._name), ("res_id", "=", self.id)], limit=limit
        )
        visible = self.field_visible
        result = []
        for entry in entries:
            changes = [
                {
                    "field": t.field,
                    "field_desc": t.field_desc,
                    "old": t.old_value,
                    "new": t.new_value,
                }
                for t in entry.tracking_value_ids
                if t.field not in self._fields or visible(t.field)
            ]
            result.append(
                {
                    "id": entry.id,
                    "date": entry.date,
                    "author": entry.author_id.name if entry.author_id else None,
                    "event": entry.event,
                    "body": entry.body,
                    "changes": changes,
                }
            )
        return result

    @api.public
    def message_post(self, body):
        """Add a note to the history of these records (needs read access to them)."""
        self.check_access("read")
        self.check_access_rule("read")
        if not body or not str(body).strip():
            raise ValidationError("A note cannot be empty", "body")
        names = self.sudo().with_context(active_test=False).display_names()
        entries = [
            {
                "model": self._name,
                "res_id": id_,
                "record_name": names.get(id_),
                "message_type": "comment",
                "event": "note",
                "body": str(body),
                "author_id": self.env.uid,
                "date": utcnow(),
            }
            for id_ in self.ids
        ]
        self.env["mail.message"].sudo().create(entries)
        return True

    def check_write_date(self, expected):
        """Refuse a write based on a stale read: ``expected`` is the ``write_date`` the
        client saw. Locks the rows (PostgreSQL) so that two writers cannot both pass."""
        if expected in (None, "", False):
            return True

        expected = self._fields["write_date"].convert_to_cache(expected, self.env)
        table = self._table
        query = table.select(table.id, table.write_date, table.write_uid).where(
            table.id.in_(self.ids)
        )
        if is_postgres(table._meta.database):
            query = query.for_update()
        for id_, write_date, write_uid in query.tuples():
            if write_date is not None and write_date != expected:
                env = self.env
                who = (
                    env["res.users"].sudo().browse(write_uid).name
                    if write_uid
                    else env.translate("someone")
                )
                raise ConflictError(
                    env.translate(
                        "%(model)s #%(id)s was changed by %(who)s at %(when)s UTC after you "
                        "opened it; reload it and apply your change again",
                        model=env.translate(self._description or self._name),
                        id=id_,
                        who=who,
                        when=f"{write_date:%Y-%m-%d %H:%M:%S}",
                    )
                )
        self.invalidate_recordset(["write_date", "write_uid"])
        return True

    def action_archive(self):
        """Archive the records (they disappear from searches but are kept)."""
        return self.write({"active": False})

    def action_unarchive(self):
        return self.write({"active": True})

    def invalidate_recordset(self, names=None):
        """Forget cached values of these records (all fields, or the named ones)."""
        cache = self.env.state.cache
        targets = [self._fields[n] for n in names] if names else list(self._fields.values())
        for field in targets:
            fcache = cache.get(field)
            if fcache:
                for id_ in self._ids:
                    fcache.pop(id_, None)

    def _translate_integrity_error(self, exc):
        """A readable error for a unique constraint or a foreign key that the database refused."""
        message = str(exc)
        for name, definition, text in self._sql_constraints:
            columns = _constraint_columns(definition)
            table = self._table._meta.table_name
            if f"{table}_{name}" in message or (
                "UNIQUE constraint failed" in message
                and message.split("failed:", 1)[-1].replace(f"{table}.", "").replace(" ", "")
                == ",".join(columns)
            ):
                return ValidationError(
                    self.env.translate(text), columns[0] if columns else None, self._name
                )
        if "FOREIGN KEY" in message.upper() or "foreign key" in message:
            return UserError(
                self.env.translate(
                    "The operation refers to a record that is missing or still in use: %s"
                )
                % self._description
            )
        if "NOT NULL" in message.upper():
            return ValidationError(f"{self._description}: a required value is missing ({message})")
        return ValidationError(f"{self._description}: {message}")


class _M2oPrefetch:
    """The ids a many2one points to across a prefetch set, worked out when first needed."""

    __slots__ = ("_fcache", "_source", "_ids")

    def __init__(self, fcache, source):
        self._fcache, self._source, self._ids = fcache, source, None

    def __iter__(self):
        if self._ids is None:
            fcache = self._fcache
            self._ids = tuple(dict.fromkeys(v for v in (fcache.get(i) for i in self._source) if v))
        return iter(self._ids)


def _constraint_columns(definition: str) -> list[str]:
    inside = definition[definition.index("(") + 1 : definition.rindex(")")]
    return [part.strip() for part in inside.split(",")]
