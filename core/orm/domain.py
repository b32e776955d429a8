"""Odoo-style domains compiled to peewee expressions, plus ordering and grouping queries."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from types import MappingProxyType

import peewee
from peewee import JOIN, SQL, Case, NodeList, Value, fn

from core import timezones
from core.db import trigram
from core.db.connection import is_postgres
from core.exceptions import AccessError, DomainError
from core.orm import fields as F

OPERATORS = frozenset(
    {
        "=",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "in",
        "not in",
        "like",
        "ilike",
        "not like",
        "not ilike",
        "=like",
        "=ilike",
        "child_of",
        "parent_of",
    }
)
NEGATIVE = MappingProxyType({"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"})
INVERSE = MappingProxyType(
    {
        **NEGATIVE,
        **{v: k for k, v in NEGATIVE.items()},
        "<": ">=",
        ">=": "<",
        ">": "<=",
        "<=": ">",
    }
)
MAX_DEPTH = 64
MAX_LEAVES = 2000
GRANULARITIES = ("day", "week", "month", "quarter", "year")
_ORDER_RE = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*$", re.I
)
AGGREGATES = ("sum", "avg", "min", "max", "count", "count_distinct")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
TEXT_TYPES = ("char", "text", "selection")


def normalize(domain) -> list:
    """Check the shape of a domain and make the implicit ANDs explicit (prefix form)."""
    if domain is None:
        return []
    if not isinstance(domain, list | tuple):
        raise DomainError(f"a domain must be a list, got {type(domain).__name__}")
    items = list(domain)
    if not items:
        return []
    if len(items) > MAX_LEAVES:
        raise DomainError(f"a domain may have at most {MAX_LEAVES} terms, got {len(items)}")
    result, expected = [], 1
    for item in items:
        if expected == 0:
            result.insert(0, "&")
            expected = 1
        if item in ("&", "|"):
            expected += 1
        elif item == "!":
            pass
        elif isinstance(item, list | tuple) and len(item) == 3:
            if not isinstance(item[0], str) or not isinstance(item[1], str):
                raise DomainError(f"a domain term must be (field, operator, value), got {item!r}")
            item = tuple(item)
            expected -= 1
        else:
            raise DomainError(f"not a domain term: {item!r}")
        result.append(item)
    if expected != 0:
        raise DomainError("the domain's operators '&', '|', '!' do not match its terms")
    return result


class Query:
    """A SELECT over one model: joins through many2one paths, a WHERE, the active filter."""

    def __init__(self, model, alias=None):
        self.model = model
        self.env = model.env
        self.table = alias or model._table
        self.joins: dict[tuple, tuple] = {}
        self.join_filters: dict[tuple, object] = {}
        self.where = None
        self.postgres = is_postgres(model._table._meta.database)
        self.rules_applied = False
        self._alias_count = 0

    # -- building -------------------------------------------------------------------------------
    def add_domain(self, domain, apply_active=True):
        items = normalize(domain)
        wants_active = (
            apply_active
            and "active" in self.model._fields
            and self.env.context.get("active_test", True)
        )
        if wants_active and not any(
            isinstance(i, tuple) and i[0].split(".")[0] == "active" for i in items
        ):
            items = ["&", ("active", "=", True)] + items if items else [("active", "=", True)]
        if not items:
            return self
        expression, rest = self._parse(items, 0)
        if rest:
            raise DomainError("the domain has terms left over after parsing")
        self.where = expression if self.where is None else (self.where & expression)
        return self

    def _parse(self, items, depth, negate=False):
        """Prefix form to an expression; '!' is pushed down to the terms as Odoo does,
        so that ``!(x in [1])`` also matches rows where x is empty."""
        if depth > MAX_DEPTH:
            raise DomainError(f"the domain nests deeper than {MAX_DEPTH} levels")
        head, rest = items[0], items[1:]
        if head == "!":
            return self._parse(rest, depth + 1, not negate)
        if head in ("&", "|"):
            left, rest = self._parse(rest, depth + 1, negate)
            right, rest = self._parse(rest, depth + 1, negate)
            conjunction = (head == "&") != negate
            return (left & right if conjunction else left | right), rest
        if negate:
            path, operator, value = head
            inverse = INVERSE.get(operator.lower())
            if inverse is None:
                return ~self._leaf(head), rest
            return self._leaf((path, inverse, value)), rest
        return self._leaf(head), rest

    def _new_alias(self, model):
        self._alias_count += 1
        return model._table.alias(f"j{self._alias_count}")

    def _join_path(self, parts):
        """Resolve a many2one chain: the alias of the last table and the model there.

        The user must be allowed to read each field and model on the way; rows of a target
        model outside the user's record rules join as empty (NULL) rows."""
        table, model = self.table, self.model
        for depth, name in enumerate(parts):
            field = self._field(model, name)
            if field.type != "many2one" or not field.store:
                raise DomainError(f"{model._name}.{name} is not a many2one to go through")
            key = tuple(parts[: depth + 1])
            if key not in self.joins:
                comodel = self.env[field.comodel_name]
                model.check_field_access([name], "read")
                comodel.check_access("read")
                alias = self._new_alias(comodel)
                self.joins[key] = (table, alias, getattr(table, name), comodel)
                allowed = self._rule_ids(comodel)
                if allowed is not None:
                    self.join_filters[key] = alias.id.in_(allowed)
            _src, table, _col, model = self.joins[key]
        return table, model

    def _rule_ids(self, comodel):
        """A subquery of the ids of ``comodel`` the user may read (its record rules), or None
        when the rules allow everything. Rules are compiled as superuser, as Odoo does, so a
        rule may go through models the user cannot read and cannot recurse into itself."""
        if self.env.su:
            return None
        rules = comodel.rule_domain("read")
        if not rules:
            return None
        sub = Query(comodel.sudo())
        sub.add_domain(rules, apply_active=False)
        return sub._apply(sub.table.select(sub.table.id)).where(sub._where_or_true())

    def _restrict_to_rules(self, sub, comodel):
        """Limit a subquery on ``comodel`` to the records the user may read."""
        allowed = self._rule_ids(comodel)
        if allowed is not None:
            condition = sub.table.id.in_(allowed)
            sub.where = condition if sub.where is None else (sub.where & condition)

    @staticmethod
    def _field(model, name):
        field = model._fields.get(name)
        if field is None:
            raise DomainError(f"unknown field {model._name}.{name}")
        return field

    def _leaf(self, leaf):
        path, operator, value = leaf
        operator = operator.lower()
        if operator not in OPERATORS:
            raise DomainError(f"unknown operator {operator!r} in {leaf!r}")
        parts = path.split(".")
        if any(not re.fullmatch(r"[a-z_][a-z0-9_]*", p) for p in parts):
            raise DomainError(f"not a field path: {path!r}")
        # A relation step becomes a subquery on the target model: the condition is then
        # evaluated once per target row, not once per row of this model.
        model, table = self.model, self.table
        if len(parts) > 1:
            field = self._field(model, parts[0])
            self.model.check_field_access([parts[0]], "read")
            rest = (".".join(parts[1:]), operator, value)
            if field.type == "many2one" and field.store:
                return self._many2one_subquery(table, field, rest)
            if isinstance(field, F._X2many):
                return self._x2many_subquery(table, model, field, rest)
            raise DomainError(f"{model._name}.{parts[0]} is not a relation to go through")
        field = self._field(model, parts[-1])
        self.model.check_field_access([parts[0]], "read")
        return self._compile(table, model, field, operator, value, leaf)

    def _related_query(self, comodel, leaf):
        """A query on the related model for the rest of a path, within its rules. A negative
        operator is turned positive there; the caller negates (so empty relations match)."""
        comodel.check_access("read")
        path, operator, value = leaf
        negative = operator in NEGATIVE
        sub = Query(comodel)
        sub.add_domain(
            [(path, NEGATIVE[operator], value) if negative else leaf], apply_active=False
        )
        self._restrict_to_rules(sub, comodel)
        return sub, negative

    def _many2one_subquery(self, table, field, leaf):
        sub, negative = self._related_query(
            self.env[field.comodel_name].with_context(active_test=False), leaf
        )
        inner = sub._apply(sub.table.select(sub.table.id)).where(sub._where_or_true())
        column = getattr(table, field.name)
        return (column.not_in(inner) | column.is_null()) if negative else column.in_(inner)

    def _x2many_subquery(self, table, model, field, leaf):
        sub, negative = self._related_query(self.env[field.comodel_name], leaf)
        expression = table.id.in_(sub._select_column_for(field))
        return ~expression if negative else expression

    def _select_column_for(self, field):
        """Ids of the parent records reached by the x2many ``field`` from this query's rows."""
        if field.type == "one2many":
            column = getattr(self.table, field.inverse_name)
            return self._apply(self.table.select(column)).where(
                column.is_null(False) & self._where_or_true()
            )
        rel = self.model._registry.relation_tables[(field.model_name, field.name)]
        query = rel.select(getattr(rel, field.column1)).where(
            getattr(rel, field.column2).in_(
                self._apply(self.table.select(self.table.id)).where(self._where_or_true())
            )
        )
        return query

    def _where_or_true(self):
        return self.where if self.where is not None else SQL("1 = 1")

    # -- leaves -----------------------------------------------------------------------------------------
    def _compile(self, table, model, field, operator, value, leaf):
        if field.compute and not field.store:
            raise DomainError(
                f"{model._name}.{field.name} is computed and not stored: it cannot be searched"
            )
        if operator in ("child_of", "parent_of"):
            return self._hierarchy(table, model, field, operator, value)
        if isinstance(field, F._X2many):
            return self._x2many_leaf(table, model, field, operator, value)
        if field.type == "binary":
            raise DomainError(f"{model._name}.{field.name} holds files and cannot be searched")
        column = getattr(table, field.name)
        if field.type == "many2one" and isinstance(value, str) and operator not in ("in", "not in"):
            return self._many2one_by_name(column, field, operator, value)
        if (
            field.type == "many2one"
            and isinstance(value, list | tuple)
            and operator in ("in", "not in")
            and any(isinstance(v, str) for v in value)
        ):
            raise DomainError(f"{leaf!r}: ids expected for {field.name}")
        return self._scalar(column, field, operator, value, leaf)

    def _convert(self, field, value, leaf):
        if value is None or value is False and field.type != "boolean":
            return None
        if hasattr(value, "_ids"):
            return value.ids[0] if len(value.ids) == 1 else None
        if isinstance(value, dict | set | list | tuple):
            raise DomainError(f"{leaf!r}: a value may not be a {type(value).__name__}")
        if field.type in TEXT_TYPES and not isinstance(value, str):
            # Compared as text: PostgreSQL refuses text = integer.
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise DomainError(f"{leaf!r}: {field.name} needs text")
            return str(value)
        try:
            if field.type in ("many2one", "integer"):
                number = value if isinstance(value, int) else int(value)
                if not INT64_MIN <= number <= INT64_MAX:
                    raise DomainError(f"{leaf!r}: {value!r} is out of range")
                return number
            if field.type == "float":
                return float(value)
            if field.type == "monetary":
                amount = Decimal(str(value))
                if not amount.is_finite() or amount.adjusted() + field.digits >= 27:
                    raise DomainError(f"{leaf!r}: {value!r} is not an amount in range")
                return amount
            if field.type == "date":
                return F.Date.convert_to_cache(field, value, self.env)
            if field.type == "datetime":
                return F.Datetime.convert_to_cache(field, value, self.env)
            if field.type == "boolean":
                return bool(value)
        except DomainError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise DomainError(f"{leaf!r}: bad value for {field.name}: {exc}") from None
        except Exception as exc:  # ValidationError from a field conversion
            raise DomainError(f"{leaf!r}: {exc}") from None
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            raise DomainError(f"{leaf!r}: {value!r} is out of range")
        return value

    def _scalar(self, column, field, operator, value, leaf):
        if operator in ("in", "not in"):
            if not isinstance(value, list | tuple | set):
                raise DomainError(f"{leaf!r}: 'in' needs a list")
            values = [self._convert(field, v, leaf) for v in value]
            has_null = any(v is None for v in values)
            values = [v for v in values if v is not None]
            if operator == "in":
                expression = column.in_(values) if values else SQL("1 = 0")
                return (expression | column.is_null()) if has_null else expression
            expression = column.not_in(values) if values else SQL("1 = 1")
            return (
                (expression & column.is_null(False))
                if has_null
                else (expression | column.is_null())
            )
        if isinstance(value, list | tuple):
            raise DomainError(f"{leaf!r}: operator {operator!r} takes a single value")
        if operator in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
            if self.postgres and field.type not in TEXT_TYPES + ("json",):
                column = column.cast("TEXT")  # PostgreSQL has no LIKE on numbers or dates
            return self._like(column, operator, value, leaf, field)
        converted = self._convert(field, value, leaf)
        if field.type == "boolean" and operator in ("=", "!="):
            truthy = bool(converted)
            positive = (column == True) if truthy else (column.is_null() | (column == False))  # noqa: E712
            return positive if operator == "=" else ~positive
        if converted is None:
            if operator == "=":
                return column.is_null()
            if operator == "!=":
                return column.is_null(False)
            raise DomainError(f"{leaf!r}: cannot compare with an empty value using {operator!r}")
        if operator == "=":
            return column == converted
        if operator == "!=":
            return (column != converted) | column.is_null()
        comparisons = {
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        return comparisons[operator](converted)

    def _like(self, column, operator, value, leaf, field=None):
        if value is None or value is False:
            return column.is_null() if not operator.startswith("not") else column.is_null(False)
        if not isinstance(value, str | int | float):
            raise DomainError(f"{leaf!r}: {operator!r} needs text")
        text = str(value)
        raw = operator.startswith("=")
        base = operator.replace("not ", "").lstrip("=")
        pattern = (
            text
            if raw
            else "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        insensitive = base == "ilike"
        if insensitive and not self.postgres:
            lhs, pattern = fn.ulower(column), pattern.lower()
        else:
            lhs = column
        keyword = "ILIKE" if insensitive and self.postgres else "LIKE"
        expression = NodeList((lhs, SQL(keyword), pattern, SQL("ESCAPE '\\'")))
        if operator.startswith("not"):
            return ~expression | column.is_null()
        # A column the database searches as itself (not cast to text: a number or date
        # searched by its text has no trigram index).
        if field is not None and isinstance(column, peewee.Field):
            return trigram.like_expression(self, column.model, field, operator, pattern, expression)
        return expression

    def _many2one_by_name(self, column, field, operator, value):
        comodel = self.env[field.comodel_name]
        comodel.check_access("read")
        rec_name = comodel.rec_name_field()
        if not rec_name:
            raise DomainError(f"{field.comodel_name} has no name to search {field.name} by")
        negative = operator in NEGATIVE
        sub = Query(comodel.with_context(active_test=False))
        sub.add_domain([(rec_name, NEGATIVE.get(operator, operator), value)], apply_active=False)
        self._restrict_to_rules(sub, comodel)
        inner = sub._apply(sub.table.select(sub.table.id)).where(sub._where_or_true())
        return (column.not_in(inner) | column.is_null()) if negative else column.in_(inner)

    def _x2many_leaf(self, table, model, field, operator, value):
        comodel = self.env[field.comodel_name]
        if value is False or value is None:
            sub = Query(comodel)
            sub.add_domain([], apply_active=False)
            inner = sub._parent_ids_for(field)
            return ~table.id.in_(inner) if operator == "=" else table.id.in_(inner)
        if isinstance(value, str):
            comodel.check_access("read")
            rec_name = comodel.rec_name_field()
            leaf = (rec_name, NEGATIVE.get(operator, operator), value)
        else:
            ids = value if isinstance(value, list | tuple) else [value]
            leaf = (
                "id",
                "in",
                [
                    self._convert(comodel._fields["id"], v, (field.name, operator, value))
                    for v in ids
                ],
            )
        sub = Query(comodel)
        sub.add_domain([leaf], apply_active=False)
        if isinstance(value, str):
            self._restrict_to_rules(sub, comodel)
        inner = sub._parent_ids_for(field)
        return ~table.id.in_(inner) if operator in NEGATIVE else table.id.in_(inner)

    def _parent_ids_for(self, field):
        if field.type == "one2many":
            column = getattr(self.table, field.inverse_name)
            return self._apply(self.table.select(column)).where(
                column.is_null(False) & self._where_or_true()
            )
        rel = self.model._registry.relation_tables[(field.model_name, field.name)]
        return rel.select(getattr(rel, field.column1)).where(
            getattr(rel, field.column2).in_(
                self._apply(self.table.select(self.table.id)).where(self._where_or_true())
            )
        )

    def _hierarchy(self, table, model, field, operator, value):
        """child_of / parent_of through the target model's parent field (recursive query)."""
        target = self.env[field.comodel_name] if field.relational else model
        parent = target._parent_name
        if parent not in target._fields:
            raise DomainError(f"{target._name} has no {parent} field for {operator}")
        if isinstance(value, str):
            ids = [
                i for i, _n in target.with_context(active_test=False).name_search(value, limit=None)
            ]
        else:
            try:
                ids = [int(v) for v in (value if isinstance(value, list | tuple) else [value]) if v]
            except (TypeError, ValueError):
                raise DomainError(f"{operator} needs record ids or a name, got {value!r}") from None
            if any(not INT64_MIN <= i <= INT64_MAX for i in ids):
                raise DomainError(f"{operator}: an id is out of range in {value!r}")
        if not ids:
            return SQL("1 = 0")
        tname = target._table._meta.table_name
        placeholders = ", ".join(["%s" if self.postgres else "?"] * len(ids))
        if operator == "child_of":
            step = f'SELECT c.id FROM "{tname}" c JOIN tree ON c."{parent}" = tree.id'
        else:
            step = f'SELECT c."{parent}" FROM "{tname}" c JOIN tree ON c.id = tree.id WHERE c."{parent}" IS NOT NULL'
        hierarchy_ids = SQL(
            f'(WITH RECURSIVE tree(id) AS (SELECT id FROM "{tname}" WHERE id IN ({placeholders}) '
            f"UNION {step}) SELECT id FROM tree)",
            ids,
        )
        if field.name == "id":
            return table.id.in_(hierarchy_ids)
        if field.type == "many2one":
            return getattr(table, field.name).in_(hierarchy_ids)
        sub = Query(target)
        sub.where = target._table.id.in_(hierarchy_ids)
        return table.id.in_(sub._parent_ids_for(field))

    # -- executing ------------------------------------------------------------------------------------------
    def _apply(self, query):
        for key, (src, alias, column, _comodel) in self.joins.items():
            condition = column == alias.id
            if key in self.join_filters:
                condition = condition & self.join_filters[key]
            query = query.join_from(src, alias, JOIN.LEFT_OUTER, on=condition)
        return query

    def _base(self, *columns):
        query = self._apply(self.table.select(*columns))
        if self.where is not None:
            query = query.where(self.where)
        return query

    def order_by(self, order: str):
        """Parse ``"name desc, id"``: only field names, directions and NULLS placement."""
        if not isinstance(order, str):
            raise DomainError("order must be text like 'name desc, id'")
        terms = []
        for part in order.split(","):
            match = _ORDER_RE.match(part)
            if not match:
                raise DomainError(f"bad order term {part.strip()!r}: expected 'field [asc|desc]'")
            name, direction, nulls = match.groups()
            field = self._field(self.model, name)
            self.model.check_field_access([name], "read")
            if not field.stored_column:
                raise DomainError(f"cannot order by {self.model._name}.{name}: not stored")
            column = getattr(self.table, name)
            if field.type == "many2one":
                comodel = self.env[field.comodel_name]
                rec_name = comodel.rec_name_field()
                if rec_name and comodel._fields[rec_name].stored_column:
                    try:
                        alias, _ = self._join_path([name])
                        column = getattr(alias, rec_name)
                    except AccessError:
                        pass  # a model the user may not read: by id, its names stay hidden
            term = column.desc() if (direction or "").lower() == "desc" else column.asc()
            if nulls:
                term = (column.desc if (direction or "").lower() == "desc" else column.asc)(
                    nulls=nulls.upper()
                )
            terms.append(term)
        if not any(t for t in order.split(",") if _ORDER_RE.match(t).group(1) == "id"):
            terms.append(self.table.id.asc())
        return terms

    def select_ids(self, order=None, limit=None, offset=0) -> list:
        limit, offset = _check_limit(limit, offset)
        terms = self.order_by(order) if order else [self.table.id.asc()]
        query = self._base(self.table.id).order_by(*terms)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        return [row[0] for row in query.tuples()]

    def select_ids_per_group(self, group_field: str, order=None, limit=20) -> dict:
        """``{group value: [ids]}``: the first ``limit`` ids of each group, in one query
        (a window function), for boards that show the top of every column at once."""
        limit, _ = _check_limit(limit, 0)
        field = self.model._fields.get(group_field)
        if field is None or not field.stored_column:
            raise DomainError(f"cannot group by {group_field!r}")
        column = getattr(self.table, group_field)
        terms = self.order_by(order) if order else [self.table.id.asc()]
        rank = fn.ROW_NUMBER().over(partition_by=[column], order_by=terms)
        inner = self._base(self.table.id.alias("rid"), column.alias("gkey"), rank.alias("rn"))
        sub = inner.alias("ranked")
        outer = (
            peewee.Select(from_list=[sub], columns=[sub.c.gkey, sub.c.rid])
            .where(sub.c.rn <= limit)
            .order_by(sub.c.gkey, sub.c.rn)
            .bind(self.model._table._meta.database)
        )
        groups: dict = {}
        for key, rid in outer.tuples().execute():
            groups.setdefault(key, []).append(rid)
        return groups

    def count(self, limit=None) -> int:
        if limit is not None:
            limit, _ = _check_limit(limit, 0)
            inner = self._base(self.table.id).limit(limit)
            return inner.count()
        return self._base(fn.COUNT(self.table.id)).scalar() or 0

    def read_group(self, groupby, aggregates, order=None, limit=None, offset=0):
        limit, offset = _check_limit(limit, offset)
        if len(groupby) > 4:
            raise DomainError("group by at most four fields")
        group_exprs, group_meta = [], []
        for spec in groupby:
            expression, meta = self._group_expression(spec)
            group_exprs.append(expression.alias(f"g{len(group_exprs)}"))
            group_meta.append(meta)
        agg_exprs, agg_meta = [], []
        for spec in aggregates:
            expression, meta = self._aggregate_expression(spec)
            agg_exprs.append(expression.alias(f"a{len(agg_exprs)}"))
            agg_meta.append(meta)
        query = self._base(*group_exprs, *agg_exprs)
        if group_exprs:
            query = query.group_by(
                *[
                    SQL(f'"g{i}"') if not self.postgres else SQL(str(i + 1))
                    for i in range(len(group_exprs))
                ]
            )
            query = query.order_by(*[SQL(str(i + 1)) for i in range(len(group_exprs))])
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        rows = list(query.tuples())
        names = {}
        for meta, index in zip(group_meta, range(len(group_meta)), strict=True):
            if meta[1].type == "many2one":
                ids = {row[index] for row in rows if row[index] is not None}
                names[index] = self.env[meta[1].comodel_name].browse(ids).display_names()
        result = []
        for row in rows:
            item = {}
            for index, (spec, field, granularity) in enumerate(group_meta):
                value = row[index]
                if field.type == "many2one" and value is not None:
                    value = (value, names[index].get(value))
                elif granularity and value is not None:
                    value = _as_date(value)
                elif field.type == "boolean":
                    value = bool(value)
                item[spec] = value
            for offset_index, (spec, field, func) in enumerate(agg_meta):
                value = row[len(group_meta) + offset_index]
                item[spec] = _aggregate_value(field, func, value)
            result.append(item)
        if order:
            key, _, direction = order.partition(" ")
            if key not in (list(groupby) + list(aggregates)):
                raise DomainError(f"order {key!r}: not one of the groupings or aggregates")
            result.sort(
                key=lambda r: (r[key] is None, _sort_key(r[key])),
                reverse=direction.strip().lower() == "desc",
            )
        return result

    def _group_expression(self, spec):
        name, _, granularity = spec.partition(":")
        parts = name.split(".")
        table, model = self._join_path(parts[:-1]) if len(parts) > 1 else (self.table, self.model)
        field = self._field(model, parts[-1])
        model.check_field_access([parts[-1]], "read")
        if not field.stored_column:
            raise DomainError(f"cannot group by {model._name}.{field.name}: not stored")
        column = getattr(table, field.name)
        if granularity:
            if field.type not in ("date", "datetime"):
                raise DomainError(f"{spec!r}: only dates have a granularity")
            if granularity not in GRANULARITIES:
                raise DomainError(
                    f"{spec!r}: granularity must be one of {', '.join(GRANULARITIES)}"
                )
            if field.type == "datetime":
                column = self._local_time(column)
            return self._truncate(column, granularity), (spec, field, granularity)
        if field.type in ("date", "datetime") and not granularity:
            if field.type == "datetime":
                column = self._local_time(column)
            return self._truncate(column, "month"), (spec, field, "month")
        return column, (spec, field, None)

    def _local_time(self, column):
        """A stored (UTC) datetime as wall-clock time in the context's ``tz``, so that days,
        weeks and months are the user's own; without a ``tz``, UTC."""
        name = self.env.context.get("tz")
        if not name or name == "UTC":
            return column
        try:
            changes = timezones.offset_changes(name)
        except timezones.UnknownTimeZone as exc:
            raise DomainError(str(exc)) from None
        if self.postgres:
            utc = NodeList((column, SQL("AT TIME ZONE 'UTC'")), parens=True)
            return NodeList((utc, SQL("AT TIME ZONE"), Value(name)), parens=True)
        # SQLite knows no zones: the offset in force comes from a binary search, written as
        # nested CASEs over the zone's offset changes (literals made here, not user text).
        return fn.datetime(column, _offset_modifier(column, changes))

    def _truncate(self, column, granularity):
        if self.postgres:
            return fn.date_trunc(granularity, column).cast("date")
        if granularity == "day":
            return fn.date(column)
        if granularity == "week":
            return fn.date(column, "weekday 0", "-6 days")
        if granularity == "month":
            return fn.strftime("%Y-%m-01", column)
        if granularity == "year":
            return fn.strftime("%Y-01-01", column)
        # Back to the quarter's first month; date() keeps NULL dates NULL (a printf of
        # the parts would turn them into the bogus text '-00-01').
        # (peewee's % is GLOB, so the remainder is spelt out with integer division.)
        month0 = fn.strftime("%m", column).cast("INTEGER") - 1
        months_back = month0 - (month0 / 3) * 3
        return fn.date(column, "start of month", fn.printf("-%d months", months_back))

    def _aggregate_expression(self, spec):
        if spec == "__count":
            return fn.COUNT(self.table.id), (spec, None, "count")
        name, _, func = spec.partition(":")
        func = func or "sum"
        if func not in AGGREGATES:
            raise DomainError(f"{spec!r}: aggregate must be one of {', '.join(AGGREGATES)}")
        parts = name.split(".")
        table, model = self._join_path(parts[:-1]) if len(parts) > 1 else (self.table, self.model)
        field = self._field(model, parts[-1])
        model.check_field_access([parts[-1]], "read")
        if not field.stored_column:
            raise DomainError(f"cannot aggregate {model._name}.{field.name}: not stored")
        if func in ("sum", "avg") and field.type not in ("integer", "float", "monetary"):
            raise DomainError(f"{spec!r}: {func} needs a number field")
        if func in ("min", "max") and field.type in ("boolean", "binary", "json"):
            raise DomainError(f"{spec!r}: {func} needs a number, date or text field")
        column = getattr(table, field.name)
        if func == "count":
            return fn.COUNT(column), (spec, field, func)
        if func == "count_distinct":
            return NodeList((SQL("COUNT(DISTINCT"), column, SQL(")"))), (spec, field, func)
        sql_func = {"sum": fn.SUM, "avg": fn.AVG, "min": fn.MIN, "max": fn.MAX}[func]
        return sql_func(column), (spec, field, func)


def _offset_modifier(column, changes):
    """SQLite ``'+10800 seconds'`` for the offset in force at ``column``'s instant."""
    if len(changes) == 1:
        return SQL(f"'{int(changes[0][1]):+d} seconds'")
    middle = len(changes) // 2
    instant = changes[middle][0].strftime("%Y-%m-%d %H:%M:%S")
    return Case(
        None,
        [(column < SQL(f"'{instant}'"), _offset_modifier(column, changes[:middle]))],
        _offset_modifier(column, changes[middle:]),
    )


def _check_limit(limit, offset):
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= INT64_MAX
    ):
        raise DomainError(f"limit must be a whole number >= 0, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= INT64_MAX:
        raise DomainError(f"offset must be a whole number >= 0, got {offset!r}")
    return limit, offset


def _as_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _aggregate_value(field, func, value):
    if func in ("count", "count_distinct"):
        return int(value or 0)
    if value is None:
        return (
            None
            if func in ("min", "max", "avg")
            else (Decimal("0.00") if field.type == "monetary" else 0)
        )
    if field.type == "monetary":
        quantum = Decimal(1).scaleb(-field.digits)
        return Decimal(str(value)).quantize(quantum)
    if func == "avg":
        return float(value)
    if field.type == "integer" and func != "avg":
        return int(value)
    if field.type == "float":
        return float(value)
    return value


def _sort_key(value):
    if isinstance(value, tuple):
        return value[1] or ""
    return value


__all__ = ["Query", "normalize"]
