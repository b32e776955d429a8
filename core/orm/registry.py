"""The model registry: final classes composed from every installed addon's declarations."""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict

import peewee

from core.db.connection import is_postgres, table_names
from core.db.schema import add_custom_column, drop_column, has_db_fk
from core.exceptions import AddonError
from core.i18n import addon_catalogs
from core.orm import fields as F
from core.orm.access import AccessControl
from core.orm.env import SUPERUSER_ID, Environment, transaction
from core.orm.models import Model
from core.orm.pages import QueryCache
from core.orm.support import REGISTRY_VERSION_KEY
from core.plugins import call_in_order, make_plugin_manager

_logger = logging.getLogger(__name__)


class RegistryError(AddonError):
    """The installed addons do not compose into a valid set of models."""


def _inherits(cls) -> list[str]:
    value = cls.__dict__.get("_inherit")
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


class Registry:
    """Every model of one database, composed once per build; ``registry["res.partner"]``."""

    def __init__(
        self,
        db,
        config=None,
        addons=None,
        all_addons=None,
        version=0,
        custom_fields=(),
        services=None,
    ):
        """``services`` (from the layers above: ``core.modules.loading.SERVICES``) attaches
        the data loader, the job queue and the views, and rebuilds the registry when the
        installed addons change; without it the registry has models and access only."""
        self.db = db
        self.config = config
        self.all_addons = all_addons or {}
        self.addons = addons or []
        self.addon_names = [a.name for a in self.addons]
        self.version = version
        self.access = None  # the access-control layer plugs in here
        self.jobs = None
        self._lock = threading.RLock()
        self.pm = make_plugin_manager([(a.name, a.import_module()) for a in self.addons])
        # this build's translations: core's and the installed addons' (core.i18n)
        self.catalogs = addon_catalogs(a.path / "i18n" for a in self.addons if a.path)
        self.models: dict = {}
        self.tables: dict = {}
        self.relation_tables: dict = {}
        self.triggers: dict = defaultdict(list)
        self.stored_computes: dict = defaultdict(list)
        self.nonstored_computes: list = []
        self.constraint_methods: dict = defaultdict(list)
        self.inverse_one2many: dict = defaultdict(list)
        self.model_origin: dict = {}
        self.soft_foreign_keys: dict = defaultdict(list)
        self.tracked_fields: dict = {}
        self._computed_by: dict = {}
        # Compiled searches, counts and pages of this registry's database (core.orm.pages).
        self.query_cache = QueryCache()
        # What the layers above keep per build (e.g. the API's schemas), by their own keys.
        self.caches: dict = {}
        self._build(list(custom_fields))
        self.data = self.views = None
        if "ir.model.access" in self.models:
            self.access = AccessControl(self)
        self.services = services
        if services is not None:
            services.attach(self)
        self.pm.hook.registry_built(registry=self)

    def __getitem__(self, name):
        return self.models[name]

    def __contains__(self, name):
        return name in self.models

    def _build(self, custom_fields):
        declarations: dict[str, list] = {}
        order: list[str] = []
        for addon, classes in call_in_order(self.pm, "register_models", self.addon_names):
            for cls in classes:
                if not (isinstance(cls, type) and issubclass(cls, Model)):
                    raise RegistryError(
                        f"addon '{addon}': register_models returned {cls!r}, not a Model class"
                    )
                inherits = _inherits(cls)
                name = cls.__dict__.get("_name")
                if name and name not in inherits:
                    if name in declarations:
                        first = declarations[name][0][0]
                        raise RegistryError(
                            f"addon '{addon}': model {name!r} is already declared by addon '{first}'; "
                            f"use _inherit to extend it"
                        )
                    declarations[name] = [(addon, cls)]
                    order.append(name)
                else:
                    target = name or (inherits[0] if inherits else None)
                    if target is None:
                        raise RegistryError(
                            f"addon '{addon}': {cls.__name__} has neither _name nor _inherit"
                        )
                    if target not in declarations:
                        raise RegistryError(
                            f"addon '{addon}': {cls.__name__} extends model {target!r}, which no addon it "
                            f"depends on declares"
                        )
                    declarations[target].append((addon, cls))
        for name in order:
            self._compose(name, declarations[name])
        for row in custom_fields:
            self._add_custom_field(row)
        for name, cls in self.models.items():
            if not cls._abstract:
                self.tables[name] = self._make_table(cls)
        for cls in self.models.values():
            if not cls._abstract:
                self._link_relations(cls)
        for cls in self.models.values():
            self._setup_computes(cls)
            self._setup_constraints(cls)
            self._setup_tracking(cls)

    def _compose(self, name, decls):
        addon, declaration = decls[0]
        bases, parents = [], []
        for _addon, cls in reversed(decls):
            bases.append(cls)
            for parent in _inherits(cls):
                if parent != name and parent not in parents:
                    parents.append(parent)
        for parent in parents:
            if parent not in self.models:
                raise RegistryError(
                    f"addon '{addon}': model {name!r} inherits {parent!r}, which is not declared"
                )
            bases.append(self.models[parent])
        attrs = {
            "_name": name,
            "_inherit": None,
            "_registry": self,
            "_addon": addon,
            "__module__": __name__,
        }
        attrs["_description"] = (
            next(
                (
                    c.__dict__["_description"]
                    for _a, c in reversed(decls)
                    if c.__dict__.get("_description")
                ),
                None,
            )
            or name
        )
        constraints = []
        for parent in parents:
            constraints.extend(self.models[parent]._sql_constraints)
        for _a, cls in decls:
            constraints.extend(cls.__dict__.get("_sql_constraints", []))
        attrs["_sql_constraints"] = constraints
        final = type(name.replace(".", "_"), tuple(bases), attrs)
        abstract = declaration.__dict__.get("_abstract", False)
        final._abstract = abstract
        collected: dict[str, tuple] = {}
        if not abstract:
            collected["id"] = (F.Integer("ID", readonly=True), "base")
            collected["create_date"] = (F.Datetime("Created on", readonly=True), "base")
            collected["create_uid"] = (F.Many2one("res.users", "Created by", readonly=True), "base")
            collected["write_date"] = (F.Datetime("Last updated on", readonly=True), "base")
            collected["write_uid"] = (
                F.Many2one("res.users", "Last updated by", readonly=True),
                "base",
            )
        for parent in parents:
            for fname, field in self.models[parent]._fields.items():
                if fname not in collected:
                    collected[fname] = (field, field.addon)
        for field_addon, cls in decls:
            for klass in reversed(cls.__mro__):
                own = klass.__dict__.get("_own_fields")
                if not own or (
                    klass is not cls and issubclass(klass, Model) and klass.__dict__.get("_name")
                ):
                    continue
                for fname, field in own.items():
                    if fname in collected:
                        previous, origin = collected[fname]
                        collected[fname] = (previous.merged_with(field), origin)
                    else:
                        collected[fname] = (field, field_addon)
        collected["display_name"] = (
            F.Char("Display name", compute="_compute_display_name"),
            "base",
        )
        final._fields = {}
        for fname, (field, origin) in collected.items():
            self._bind_field(final, fname, field.copy_for(name, fname, origin))
        self.models[name] = final
        self.model_origin[name] = addon

    @staticmethod
    def _bind_field(cls, fname, field):
        cls._fields[fname] = field
        if fname != "id":
            setattr(cls, fname, field)

    def _add_custom_field(self, row):
        cls = self.models.get(row["model"])
        if cls is None or cls._abstract:
            _logger.warning(
                "custom field %s.%s: model not installed, skipped", row["model"], row["name"]
            )
            return
        field = make_custom_field(row, self.models)
        if field is None:
            return
        bound = field.copy_for(row["model"], row["name"], None)
        bound.manual = True
        self._bind_field(cls, row["name"], bound)

    def _make_table(self, cls):
        """The peewee model for queries; DDL is written by ``core.db.schema``."""
        tname = cls._name.replace(".", "_")
        meta = type(
            "Meta", (), {"database": self.db, "table_name": tname, "legacy_table_names": False}
        )
        attrs = {"Meta": meta, "id": peewee.BigAutoField(), "__module__": __name__}
        for fname, field in cls._fields.items():
            if field.stored_column and fname != "id":
                attrs[fname] = field.peewee_field()
                attrs[fname].index = False
        table = type(f"T_{tname}", (peewee.Model,), attrs)
        cls._table = table
        return table

    def _link_relations(self, cls):
        table = cls._table
        for fname, field in cls._fields.items():
            if not field.relational:
                continue
            comodel = self.models.get(field.comodel_name)
            if comodel is None:
                raise RegistryError(
                    f"addon '{field.addon or cls._addon}': field {cls._name}.{fname} points to model "
                    f"{field.comodel_name!r}, which is not installed (missing dependency?)"
                )
            if comodel._abstract:
                raise RegistryError(
                    f"field {cls._name}.{fname} points to abstract model {field.comodel_name!r}"
                )
            if field.type == "many2one" and field.store:
                fk = peewee.ForeignKeyField(
                    comodel._table,
                    column_name=fname,
                    null=True,
                    lazy_load=False,
                    on_delete=field.ondelete.upper(),
                )
                table._meta.add_field(fname, fk)
                if not has_db_fk(self, cls, field):
                    self.soft_foreign_keys[field.comodel_name].append(field)
            elif field.type == "one2many":
                inverse = comodel._fields.get(field.inverse_name)
                if inverse is None or inverse.type != "many2one":
                    raise RegistryError(
                        f"field {cls._name}.{fname}: {field.comodel_name}.{field.inverse_name} is not a many2one"
                    )
                self.inverse_one2many[(field.comodel_name, field.inverse_name)].append(field)
            elif field.type == "many2many":
                field.setup_relation()
                self.relation_tables[(cls._name, fname)] = self._relation_table(cls, comodel, field)

    def _relation_table(self, cls, comodel, field):
        for (_model, _fname), existing in self.relation_tables.items():
            if existing._meta.table_name == field.relation:
                return existing
        meta = type(
            "Meta",
            (),
            {
                "database": self.db,
                "table_name": field.relation,
                "primary_key": peewee.CompositeKey(field.column1, field.column2),
            },
        )
        attrs = {
            "Meta": meta,
            "__module__": __name__,
            field.column1: peewee.ForeignKeyField(
                cls._table, column_name=field.column1, on_delete="CASCADE", lazy_load=False
            ),
            field.column2: peewee.ForeignKeyField(
                comodel._table, column_name=field.column2, on_delete="CASCADE", lazy_load=False
            ),
        }
        return type(f"R_{field.relation}", (peewee.Model,), attrs)

    def _setup_computes(self, cls):
        for fname, field in cls._fields.items():
            if not field.compute:
                continue
            method = getattr(cls, field.compute, None)
            if method is None:
                raise RegistryError(
                    f"addon '{field.addon}': {cls._name}.{fname} is computed by {field.compute}(), which the "
                    f"model does not have"
                )
            self._computed_by.setdefault((cls._name, field.compute), []).append(field)
            # What the result depends on, declared on the field or with @api.depends.
            field.depends = tuple(field.depends or getattr(method, "_depends", ()))
            if not field.store:
                self.nonstored_computes.append(field)
                continue
            if cls._abstract:
                continue
            self.stored_computes[cls._name].append(field)
            for path in field.depends:
                self._add_triggers(cls, field, path)

    def _add_triggers(self, cls, field, path):
        parts = path.split(".")
        model = cls
        for index, part in enumerate(parts):
            step = model._fields.get(part)
            if step is None:
                raise RegistryError(
                    f"addon '{field.addon}': {cls._name}.{field.name} depends on {path!r}, but "
                    f"{model._name} has no field {part!r}"
                )
            self.triggers[(model._name, part)].append((field, parts[:index]))
            if step.type == "one2many":
                self.triggers[(step.comodel_name, step.inverse_name)].append(
                    (field, parts[: index + 1])
                )
            if step.relational:
                model = self.models[step.comodel_name]
            elif index != len(parts) - 1:
                raise RegistryError(
                    f"{cls._name}.{field.name}: {path!r} goes through {part!r}, not a relation"
                )

    def _setup_tracking(self, cls):
        """Tracked models: ``_track = True`` or a field with ``tracking=True``."""
        if cls._abstract or "mail.message" not in self.models or cls._name.startswith("mail."):
            return
        fields_ = [f for f in cls._fields.values() if f.tracking and f.stored_column]
        if not fields_ and not getattr(cls, "_track", False):
            return
        state = cls._fields.get("state")
        if state is not None and state.type == "selection" and state not in fields_:
            fields_.append(state)
        self.tracked_fields[cls._name] = fields_

    def _setup_constraints(self, cls):
        seen = set()
        for klass in cls.__mro__:
            for attr, value in klass.__dict__.items():
                if attr in seen or not callable(value) or not hasattr(value, "_constrains"):
                    continue
                seen.add(attr)
                unknown = [f for f in value._constrains if f not in cls._fields]
                if unknown:
                    raise RegistryError(f"{cls._name}.{attr} checks unknown field {unknown[0]!r}")
                self.constraint_methods[cls._name].append((attr, value._constrains))

    # -- services for the ORM ---------------------------------------------------------------------
    def fields_computed_by(self, model_name, method_name):
        return self._computed_by.get((model_name, method_name), [])

    def log_access(self, model_name) -> bool:
        return (
            "create_uid" in self.models[model_name]._fields
            and not self.models[model_name]._abstract
        )

    def hook_event(self, name, **kwargs):
        getattr(self.pm.hook, name)(**kwargs)

    def translate(self, text, lang, context=None):
        """``text`` in ``lang`` from the catalogs of core and this registry's addons."""
        return self.catalogs.translate(text, lang, context)

    def env(self, uid=None, context=None, su=False):
        """An environment outside any managed transaction (shell, tests)."""
        return Environment(self, SUPERUSER_ID if uid is None else uid, context, su)

    def transaction(self, uid=None, context=None, write=True, su=False, state=None):
        """``with registry.transaction() as env:`` one unit of work, committed at the end."""
        return transaction(self, SUPERUSER_ID if uid is None else uid, context, write, su, state)

    # -- registry versions across processes ---------------------------------------------------------
    def stored_version(self) -> int:
        return read_registry_version(self.db)

    def reload_if_changed(self):
        """Rebuild in place when another process (or this one) changed the installed addons."""
        current = self.stored_version()
        if current == self.version:
            return False
        with self._lock:
            if self.stored_version() == self.version:
                return False
            if self.services is None:
                raise RegistryError(
                    "the installed addons changed and this registry has no services to rebuild it"
                )
            fresh = self.services.rebuild(self)
            fresh_dict = dict(fresh.__dict__)
            fresh_dict["_lock"] = self._lock
            self.__dict__.update(fresh_dict)
            for cls in self.models.values():
                cls._registry = self
            for helper in (self.access, self.data, self.jobs):
                if helper is not None:
                    helper.registry = self
            return True

    # -- custom fields at run time --------------------------------------------------------------------
    def apply_custom_fields(self, env, records):
        """Add the columns of new custom fields now; the registry rebuilds after the commit."""
        for rec in records:
            row = custom_field_row(rec)
            field = make_custom_field(row, self.models)
            bound = field.copy_for(row["model"], row["name"], None)
            bound.manual = True
            add_custom_column(self, self.models[row["model"]], bound)
        bump_registry_version(env)
        env.state.registry_changed = True

    def drop_custom_fields(self, env, records):
        for rec in records:
            cls = self.models.get(rec.model)
            field = cls._fields.get(rec.name) if cls else None
            if field is not None and field.manual:
                drop_column(self, cls, field)
        bump_registry_version(env)
        env.state.registry_changed = True


def custom_field_row(rec) -> dict:
    return {
        "model": rec.model,
        "name": rec.name,
        "ttype": rec.ttype,
        "field_description": rec.field_description,
        "help": rec.help or "",
        "selection_values": rec.selection_values,
        "relation": rec.relation,
        "required": rec.required,
        "index": rec.index,
    }


def make_custom_field(row, models):
    kind = F.FIELD_TYPES.get(row["ttype"])
    if kind is None:
        return None
    kwargs = {
        "string": row["field_description"],
        "help": row.get("help") or "",
        "index": bool(row.get("index")),
    }
    if row["ttype"] == "selection":
        return F.Selection([tuple(v) for v in (row.get("selection_values") or [])], **kwargs)
    if row["ttype"] == "many2one":
        if row.get("relation") not in models:
            return None
        return F.Many2one(row["relation"], **kwargs)
    return kind(**kwargs)


def read_installed_state(db):
    """(installed addon names, registry version, custom field rows) from the database."""
    tables = table_names(db)
    if "ir_module_module" not in tables:
        return [], 0, []
    installed = [
        row[0]
        for row in db.execute_sql("SELECT name FROM ir_module_module WHERE state = 'installed'")
    ]
    version = read_registry_version(db)
    custom = []
    if "ir_model_fields" in tables:
        cursor = db.execute_sql(
            'SELECT model, name, ttype, field_description, help, selection_values, relation, required, "index" '
            "FROM ir_model_fields ORDER BY id"
        )

        for (
            model,
            name,
            ttype,
            label,
            help_,
            values,
            relation,
            required,
            index,
        ) in cursor.fetchall():
            custom.append(
                {
                    "model": model,
                    "name": name,
                    "ttype": ttype,
                    "field_description": label,
                    "help": help_,
                    "selection_values": json.loads(values) if values else None,
                    "relation": relation,
                    "required": bool(required),
                    "index": bool(index),
                }
            )
    return installed, version, custom


def read_registry_version(db) -> int:
    try:
        cursor = db.execute_sql(
            f"SELECT value FROM ir_config_parameter WHERE key = {db.param}", (REGISTRY_VERSION_KEY,)
        )
        row = cursor.fetchone()
    except (peewee.OperationalError, peewee.ProgrammingError):
        if is_postgres(db) and not db.in_transaction():
            try:
                db.rollback()
            except (peewee.InterfaceError, peewee.OperationalError):
                db.close()  # the connection is gone; the next query reconnects
        return 0
    return parse_version(row[0] if row else None)


def parse_version(value) -> int:
    """The registry version from its stored text (0 when unset)."""
    try:
        return int(value) if value else 0
    except ValueError:  # edited by hand: treat as changed, never fail every request
        return -1


def bump_registry_version(env):
    """Tell every process that the models changed; each rebuilds on its next request."""
    params = env["ir.config_parameter"].sudo()
    current = int(params.get_param(REGISTRY_VERSION_KEY, "0") or 0)
    params.set_param(REGISTRY_VERSION_KEY, str(current + 1))
    return current + 1
