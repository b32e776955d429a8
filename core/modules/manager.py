"""Installing, upgrading and uninstalling addons, each in one transaction."""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path

from core.db.connection import database_from_url, is_postgres
from core.db.schema import drop_column, drop_tables, sync_schema
from core.exceptions import AddonError, KontoraError
from core.modules.data import data_files
from core.modules.discovery import (
    AddonInfo,
    dependents,
    discover,
    resolve,
    topological,
    version_tuple,
)
from core.modules.loading import SERVICES, load_registry
from core.orm.env import SUPERUSER_ID, Environment
from core.orm.registry import Registry, bump_registry_version, read_installed_state
from core.plugins import call_addon_function

_logger = logging.getLogger(__name__)
_MIGRATION_RE = re.compile(r"^(\d+(?:\.\d+){1,3})\.py$")


class Progress:
    """Receives progress of long steps; the CLI shows it as a bar. Silent by default."""

    def start(self, label: str, total: int):
        pass

    def advance(self, amount: int = 1):
        pass

    def finish(self):
        pass

    def message(self, text: str):
        _logger.info(text)


class AddonManager:
    """What the CLI and the settings page use to change the set of installed addons."""

    def __init__(self, config, db=None, progress: Progress | None = None):
        self.config = config
        self.db = db or database_from_url(config.database_url, config["database.busy_timeout_ms"])
        self.addons = discover(config.addons_paths)
        self.progress = progress or Progress()

    # -- state ------------------------------------------------------------------------------------------
    def _database_exists(self) -> bool:
        if is_postgres(self.db):
            return True
        path = self.db.database
        return path == ":memory:" or Path(path).exists()

    def state(self) -> dict[str, dict]:
        """``{name: {state, version, demo}}`` for addons the database has a record of."""
        if not self._database_exists() or "ir_module_module" not in self.db.get_tables():
            return {}
        rows = self.db.execute_sql(
            "SELECT name, state, latest_version, demo FROM ir_module_module"
        ).fetchall()
        return {
            name: {"state": state, "version": version, "demo": bool(demo)}
            for name, state, version, demo in rows
        }

    def installed(self) -> set[str]:
        return {name for name, row in self.state().items() if row["state"] == "installed"}

    def listing(self) -> list[dict]:
        """Every addon on disk with its installed version and state, for ``addons list``."""
        state = self.state()
        rows = []
        for name, info in sorted(self.addons.items()):
            row = state.get(name, {})
            rows.append(
                {
                    "name": name,
                    "version": info.version if not info.error else "?",
                    "installed_version": row.get("version")
                    if row.get("state") == "installed"
                    else None,
                    "state": "broken" if info.error else row.get("state", "uninstalled"),
                    "summary": info.error or info.summary,
                    "source": info.source,
                }
            )
        return rows

    # -- plans (computed before anything is written) ---------------------------------------------------------
    def plan_install(self, names) -> list[AddonInfo]:
        """The addons to install for ``names``: missing dependencies and auto-installs, in order."""
        installed = self.installed()
        wanted = resolve(self.addons, ["base", *names])
        new = {a.name: a for a in wanted if a.name not in installed}
        changed = True
        while changed:  # auto_install: an addon whose dependencies are all present comes along
            changed = False
            present = installed | set(new)
            for info in self.addons.values():
                ready = info.auto_install and not info.error and info.name not in present
                if ready and set(info.depends) <= present:
                    new[info.name] = info
                    changed = True
        return [a for a in topological({**new}) if a.name in new]

    def plan_uninstall(self, names) -> list[str]:
        installed = self.installed()
        for name in names:
            if name == "base":
                raise AddonError("addon 'base' cannot be uninstalled")
            if name not in installed:
                raise AddonError(f"addon '{name}' is not installed")
        removing = set(names) | set(dependents(self.addons, installed, names))
        missing = [n for n in removing if n not in self.addons]
        order = [
            a.name for a in topological({n: self.addons[n] for n in removing if n in self.addons})
        ]
        return list(reversed(order)) + missing

    def plan_upgrade(self, names=None) -> list[AddonInfo]:
        state = self.state()
        installed = {n for n, r in state.items() if r["state"] == "installed"}
        if names:
            for name in names:
                if name not in installed:
                    raise AddonError(f"addon '{name}' is not installed")
            selected = set(names)
        else:
            selected = {
                n
                for n in installed
                if n in self.addons
                and not self.addons[n].error
                and version_tuple(self.addons[n].version) > version_tuple(state[n]["version"])
            }
        ordered = resolve(self.addons, sorted(installed))
        plan = [a for a in ordered if a.name in selected]
        for info in plan:
            if version_tuple(info.version) < version_tuple(state[info.name]["version"]):
                info.fail(
                    f"version {info.version} on disk is older than installed {state[info.name]['version']}"
                )
        return plan

    # -- actions --------------------------------------------------------------------------------------------
    def _registry_for(self, names):
        order = resolve(self.addons, sorted(names))
        _installed, version, custom = read_installed_state(self.db)
        return Registry(self.db, self.config, order, self.addons, version, custom, SERVICES)

    def install(self, names, demo=False) -> Registry:
        """Install ``names`` and what they need; one transaction; returns the new registry."""
        plan = self.plan_install(names)
        if not plan:
            self.progress.message("nothing to install")
            return self._registry_for(self.installed() or {"base"})
        with self.db.connection_context(), self.db.write_transaction():
            installed = self.installed()
            registry = self._registry_for(installed | {a.name for a in plan})
            # Checked before anything is written: a manifest naming a missing function fails.
            after_install = {a.name: a.lifecycle_function("after_install") for a in plan}
            sync_schema(registry)
            env = Environment(registry, SUPERUSER_ID, {"install_mode": True}, su=True)
            entries = {a.name: self._data_entries(registry, a, demo) for a in plan}
            total = sum(len(e) for e in entries.values())
            self.progress.start("Installing " + ", ".join(a.name for a in plan), total)
            for addon in plan:
                registry.data.load_entries(
                    env, addon, entries[addon.name], "init", self.progress.advance
                )
                self._set_state(env, addon, "installed", demo)
                env.recompute()
                if after_install[addon.name] is not None:
                    call_addon_function(
                        addon.name, "after_install", after_install[addon.name], env=env
                    )
                    env.recompute()
                registry.pm.hook.addon_installed(env=env, addon=addon.name)
            registry.version = bump_registry_version(env)
            env.recompute()
        self.progress.finish()
        return registry

    @staticmethod
    def _data_entries(registry, addon, demo):
        return registry.data.read_files(addon, data_files(addon, demo))

    def _set_state(self, env, addon, state, demo=None):
        Module = env["ir.module.module"].sudo()
        found = Module.search([("name", "=", addon.name)])
        vals = {"state": state, "latest_version": addon.version if state == "installed" else None}
        if demo is not None:
            vals["demo"] = bool(demo and addon.demo)
        if found:
            found.write(vals)
        else:
            Module.create({"name": addon.name, **vals})

    def upgrade(self, names=None) -> Registry:
        """Schema sync, migration steps and data reload for ``names`` (or every newer addon)."""
        plan = self.plan_upgrade(names)
        installed = self.installed()
        if not plan:
            self.progress.message("everything is up to date")
            return self._registry_for(installed)
        state = self.state()
        with self.db.connection_context(), self.db.write_transaction():
            registry = self._registry_for(installed)
            env = Environment(registry, SUPERUSER_ID, {"install_mode": True}, su=True)
            steps = {a.name: self._migrations(a, state[a.name]["version"]) for a in plan}
            for addon in plan:
                for version, path in steps[addon.name]:
                    self._run_migration(
                        env, addon, version, path, "pre_migrate", state[addon.name]["version"]
                    )
            sync_schema(registry)
            entries = {a.name: self._data_entries(registry, a, False) for a in plan}
            total = sum(len(e) for e in entries.values())
            self.progress.start("Upgrading " + ", ".join(a.name for a in plan), total)
            for addon in plan:
                for version, path in steps[addon.name]:
                    self._run_migration(
                        env, addon, version, path, "migrate", state[addon.name]["version"]
                    )
                env.invalidate_all()
                seen = registry.data.load_entries(
                    env, addon, entries[addon.name], "update", self.progress.advance
                )
                registry.data.remove_obsolete(
                    env, addon.name, seen | self._demo_ids(registry, addon, state)
                )
                self._set_state(env, addon, "installed")
                env.recompute()
            registry.version = bump_registry_version(env)
        self.progress.finish()
        return registry

    def _demo_ids(self, registry, addon, state):
        if not state.get(addon.name, {}).get("demo"):
            return set()
        return {e["id"] for e in self._data_entries(registry, addon, True) if e["id"]}

    @staticmethod
    def _migrations(addon, installed_version):
        folder = Path(addon.path) / "migrations"
        if not folder.is_dir():
            return []
        steps = []
        for path in folder.iterdir():
            match = _MIGRATION_RE.match(path.name)
            if (
                match
                and version_tuple(installed_version)
                < version_tuple(match.group(1))
                <= addon.version_tuple()
            ):
                steps.append((match.group(1), path))
        return sorted(steps, key=lambda s: version_tuple(s[0]))

    @staticmethod
    def _run_migration(env, addon, version, path, function, installed_version):
        spec = importlib.util.spec_from_file_location(
            f"kontora_migration_{addon.name}_{version}", path
        )
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            step = getattr(module, function, None)
            if step is not None:
                step(env, installed_version)
        except KontoraError as exc:
            text = " ".join(str(exc).split())
            raise AddonError(
                f"addon '{addon.name}' ({path}): migration to {version} failed: {text}"
            ) from exc
        except Exception as exc:
            text = " ".join(str(exc).split())  # one line for the CLI, whatever the step raised
            raise AddonError(
                f"addon '{addon.name}' ({path}): migration to {version} failed: {type(exc).__name__}: {text}"
            ) from exc

    def uninstall(self, names) -> Registry:
        """Drop what the addons (and those depending on them) added: tables, columns, data."""
        removing = self.plan_uninstall(names)
        with self.db.connection_context(), self.db.write_transaction():
            installed = self.installed()
            current = self._registry_for(installed)
            env = Environment(current, SUPERUSER_ID, {"install_mode": True}, su=True)
            # Each addon's own before_uninstall, dependents first, while its data still exists.
            before = [
                (name, self.addons[name].lifecycle_function("before_uninstall"))
                for name in removing
                if name in self.addons
            ]
            for name, function in before:
                if function is not None:
                    call_addon_function(name, "before_uninstall", function, env=env)
                    env.recompute()
            gone = set(removing)
            dropped_models = {m for m, origin in current.model_origin.items() if origin in gone}
            self._delete_data_rows(env, gone, dropped_models)
            custom = (
                env["ir.model.fields"]
                .sudo()
                .search(
                    [
                        "|",
                        ("model", "in", sorted(dropped_models)),
                        ("relation", "in", sorted(dropped_models)),
                    ]
                )
            )
            for rec in custom:
                cls = current.models.get(rec.model)
                if cls is not None and rec.model not in dropped_models and rec.name in cls._fields:
                    drop_column(current, cls, cls._fields[rec.name])
            if custom:
                custom_table = current.tables["ir.model.fields"]
                custom_table.delete().where(custom_table.id.in_(custom.ids)).execute()
            relation_tables = set()
            for (model_name, fname), rel in current.relation_tables.items():
                field = current.models[model_name]._fields[fname]
                if (
                    field.addon in gone
                    or model_name in dropped_models
                    or field.comodel_name in dropped_models
                ):
                    relation_tables.add(rel._meta.table_name)
            for model_name, cls in current.models.items():
                if model_name in dropped_models or cls._abstract:
                    continue
                for field in cls._fields.values():
                    if field.addon in gone and field.stored_column:
                        drop_column(current, cls, field)
            tables = sorted(relation_tables) + [
                current.tables[m]._meta.table_name for m in dropped_models if m in current.tables
            ]
            drop_tables(current, tables)
            Module = current.tables["ir.module.module"]
            Module.update(state="uninstalled", latest_version=None, demo=False).where(
                Module.name.in_(removing)
            ).execute()
            _installed, version, remaining_custom = read_installed_state(self.db)
            remaining = [n for n in installed if n not in gone]
            registry = Registry(
                self.db,
                self.config,
                resolve(self.addons, sorted(remaining)),
                self.addons,
                version,
                remaining_custom,
                SERVICES,
            )
            registry.version = bump_registry_version(registry.env(su=True))
        return registry

    @staticmethod
    def _delete_data_rows(env, gone, dropped_models):
        IrData = env.registry.tables["ir.model.data"]
        rows = list(
            IrData.select(IrData.model, IrData.res_id)
            .where(IrData.module.in_(sorted(gone)))
            .tuples()
        )
        by_model = {}
        for model_name, res_id in rows:
            if model_name not in dropped_models and model_name in env.registry.models:
                by_model.setdefault(model_name, []).append(res_id)
        for model_name, ids in by_model.items():
            env[model_name].sudo().with_context(active_test=False).browse(ids).exists().unlink()
        IrData.delete().where(IrData.module.in_(sorted(gone))).execute()


def open_registry(config) -> Registry:
    """The registry of an initialised database; a clear error when there is none yet."""
    manager = AddonManager(config)
    if not manager.installed():
        raise KontoraError(
            f"the database {config.database_url} is not initialised: run `kontora init` first"
        )
    return load_registry(config, manager.db)


__all__ = ["AddonManager", "Progress", "open_registry", "discover"]
