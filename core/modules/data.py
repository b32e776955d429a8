"""Data files: records with external ids, created once and updated on upgrade."""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path
from types import MappingProxyType

from core.exceptions import AddonError, KontoraError, MissingError

RESERVED = frozenset({"model", "id", "noupdate", "values"})


class DataFileError(AddonError):
    """A data file is malformed or names something that does not exist."""


SECURITY_FILE = "security.toml"
PERM_LETTERS = MappingProxyType(
    {"r": "perm_read", "w": "perm_write", "c": "perm_create", "d": "perm_unlink"}
)


def data_files(addon, demo=False) -> list[str]:
    """An addon's files in load order: security.toml (if any), data, then demo."""
    listed = SECURITY_FILE in addon.data
    files = [SECURITY_FILE] if (Path(addon.path) / SECURITY_FILE).is_file() and not listed else []
    return files + list(addon.data) + (list(addon.demo) if demo else [])


def _perms(value, where):
    if not isinstance(value, str) or set(value) - set(PERM_LETTERS):
        raise DataFileError(
            f"{where}: 'perms' is letters from r (read), w (write), c (create), d (delete)"
        )
    return {name: letter in value for letter, name in PERM_LETTERS.items()}


def _read_toml(addon, path, what) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(f"addon '{addon.name}' ({path}): cannot read {what}: {exc}") from None


def read_security(addon) -> list[dict]:
    """``security.toml``: [[groups]], [[access]] and [[rules]] as data entries with external ids."""
    path = Path(addon.path) / SECURITY_FILE
    data = _read_toml(addon, path, "security file")
    unknown = set(data) - {"groups", "access", "rules"}
    if unknown:
        raise DataFileError(
            f"addon '{addon.name}' ({path}): unknown section {sorted(unknown)[0]!r}"
        )
    entries = []
    for index, group in enumerate(data.get("groups", []), start=1):
        where = f"addon '{addon.name}' ({path}), group {index}"
        if not isinstance(group, dict) or "id" not in group or "name" not in group:
            raise DataFileError(f"{where}: needs 'id' and 'name'")
        values = {
            "name": group["name"],
            "category": group.get("category"),
            "comment": group.get("comment"),
        }
        if group.get("implied"):
            values["implied_ids"] = {"refs": list(group["implied"])}
        entries.append(
            {
                "model": "res.groups",
                "id": group["id"],
                "noupdate": False,
                "values": values,
                "where": where,
            }
        )
    for index, row in enumerate(data.get("access", []), start=1):
        where = f"addon '{addon.name}' ({path}), access {index}"
        if not isinstance(row, dict) or "model" not in row:
            raise DataFileError(f"{where}: needs 'model'")
        group = row.get("group")
        xml_id = (
            row.get("id")
            or f"access_{row['model'].replace('.', '_')}_{(group or 'all').replace('.', '_')}"
        )
        values = {"name": xml_id, "model": row["model"], **_perms(row.get("perms", "r"), where)}
        values["group_id"] = {"ref": group} if group else None
        entries.append(
            {
                "model": "ir.model.access",
                "id": xml_id,
                "noupdate": False,
                "values": values,
                "where": where,
            }
        )
    for index, rule in enumerate(data.get("rules", []), start=1):
        where = f"addon '{addon.name}' ({path}), rule {index}"
        if not isinstance(rule, dict) or not {"id", "model", "domain"} <= set(rule):
            raise DataFileError(f"{where}: needs 'id', 'model' and 'domain'")
        values = {
            "name": rule.get("name", rule["id"]),
            "model": rule["model"],
            "domain": rule["domain"],
            **_perms(rule.get("perms", "rwcd"), where),
        }
        if rule.get("groups"):
            values["groups"] = {"refs": list(rule["groups"])}
        entries.append(
            {
                "model": "ir.rule",
                "id": rule["id"],
                "noupdate": False,
                "values": values,
                "where": where,
            }
        )
    return entries


class DataLoader:
    """Loads an addon's data files in batches and resolves ``{ ref = "addon.name" }``."""

    def __init__(self, registry):
        self.registry = registry

    # -- external ids ------------------------------------------------------------------------------
    def ref(self, env, xml_id, raise_if_not_found=True):
        module, _, name = xml_id.partition(".")
        if not name:
            raise KontoraError(f"external id {xml_id!r} must look like addon.name")
        IrData = self.registry.tables["ir.model.data"]
        row = (
            IrData.select(IrData.model, IrData.res_id)
            .where((IrData.module == module) & (IrData.name == name))
            .tuples()
            .first()
        )
        if row is None:
            if raise_if_not_found:
                raise MissingError(f"no record with external id {xml_id!r}")
            return None
        return env[row[0]].browse(row[1])

    def _existing(self, module):
        IrData = self.registry.tables["ir.model.data"]
        query = IrData.select(
            IrData.name, IrData.model, IrData.res_id, IrData.noupdate, IrData.id
        ).where(IrData.module == module)
        return {
            name: (model, res_id, bool(noupdate), row_id)
            for name, model, res_id, noupdate, row_id in query.tuples()
        }

    # -- loading -----------------------------------------------------------------------------------------
    def read_file(self, addon, rel_path) -> list[dict]:
        if rel_path == SECURITY_FILE:
            return read_security(addon)
        path = Path(addon.path) / rel_path
        data = _read_toml(addon, path, "data file")
        file_noupdate = bool(data.get("noupdate", False))
        records = data.get("records", [])
        if not isinstance(records, list):
            raise DataFileError(
                f"addon '{addon.name}' ({path}): 'records' must be an array of tables"
            )
        result = []
        for index, record in enumerate(records, start=1):
            where = f"addon '{addon.name}' ({path}), record {index}"
            if not isinstance(record, dict) or "model" not in record:
                raise DataFileError(f"{where}: needs a 'model'")
            unknown = set(record) - RESERVED
            if unknown:
                raise DataFileError(
                    f"{where}: unknown key {sorted(unknown)[0]!r} (put field values under 'values')"
                )
            if record["model"] not in self.registry.models:
                raise DataFileError(f"{where}: unknown model {record['model']!r}")
            xml_id = record.get("id")
            if xml_id is not None and (not isinstance(xml_id, str) or not xml_id):
                raise DataFileError(f"{where}: 'id' must be text")
            result.append(
                {
                    "model": record["model"],
                    "id": xml_id,
                    "noupdate": bool(record.get("noupdate", file_noupdate)),
                    "values": dict(record.get("values", {})),
                    "where": where,
                }
            )
        return result

    def read_files(self, addon, files) -> list[dict]:
        entries = []
        for rel_path in files:
            entries.extend(self.read_file(addon, rel_path))
        return entries

    def load(self, env, addon, files, mode="init", progress=None):
        """Create or update the records of ``files``; return the external ids seen."""
        return self.load_entries(env, addon, self.read_files(addon, files), mode, progress)

    def load_entries(self, env, addon, entries, mode="init", progress=None):
        """Create or update the records of entries read by ``read_files``."""
        existing = self._existing(addon.name)
        seen: set[str] = set()
        batch: list[dict] = []

        def flush():
            if batch:
                self._flush(env, addon.name, batch, existing, mode)
                if progress:
                    progress(len(batch))
                batch.clear()

        for entry in entries:
            if batch and (
                batch[0]["model"] != entry["model"]
                or self._refers_to_batch(entry, batch, addon.name)
            ):
                flush()
            if entry["id"] and entry["id"] in {e["id"] for e in batch}:
                flush()
            batch.append(entry)
            if entry["id"]:
                seen.add(entry["id"])
        flush()
        return seen

    @staticmethod
    def _refers_to_batch(entry, batch, module):
        pending = {e["id"] for e in batch if e["id"]}
        for value in entry["values"].values():
            if isinstance(value, dict):
                refs = [value["ref"]] if "ref" in value else list(value.get("refs", []))
                for ref in refs:
                    if (ref.split(".", 1)[1] if ref.startswith(module + ".") else ref) in pending:
                        return True
        return False

    def _flush(self, env, module, batch, existing, mode):
        model = env[batch[0]["model"]].sudo().with_context(active_test=False)
        to_create, to_create_ids = [], []
        for entry in batch:
            vals = self._resolve_values(env, module, model, entry)
            xml_id = entry["id"]
            known = existing.get(xml_id) if xml_id else None
            if known and model.browse(known[1]).exists():
                if known[2] and mode == "update":
                    continue
                if vals:
                    model.browse(known[1]).write(vals)
                continue
            to_create.append(vals)
            to_create_ids.append(entry)
        if not to_create:
            return
        records = model.create(to_create)
        rows = []
        for entry, res_id in zip(to_create_ids, records.ids, strict=True):
            if entry["id"]:
                known = existing.get(entry["id"])
                if known:  # the record was deleted by hand: point the id at the new one
                    env["ir.model.data"].sudo().browse(known[3]).unlink()
                rows.append(
                    {
                        "module": module,
                        "name": entry["id"],
                        "model": model._name,
                        "res_id": res_id,
                        "noupdate": entry["noupdate"],
                    }
                )
                existing[entry["id"]] = (model._name, res_id, entry["noupdate"], None)
        if rows:
            created = env["ir.model.data"].sudo().create(rows)
            for row, rec_id in zip(rows, created.ids, strict=True):
                model_name, res_id, noupdate, _ = existing[row["name"]]
                existing[row["name"]] = (model_name, res_id, noupdate, rec_id)

    def _resolve_values(self, env, module, model, entry):
        vals = {}
        for name, value in entry["values"].items():
            field = model._fields.get(name)
            if field is None:
                raise DataFileError(f"{entry['where']}: {model._name} has no field {name!r}")
            if isinstance(value, dict):
                vals[name] = self._special(env, module, field, value, entry["where"])
            elif isinstance(value, datetime.datetime | datetime.date) or not isinstance(
                value, list
            ):
                vals[name] = value
            else:
                vals[name] = value
        return vals

    def _special(self, env, module, field, value, where):
        def lookup(ref):
            full = ref if "." in ref else f"{module}.{ref}"
            record = self.ref(env, full, raise_if_not_found=False)
            if record is None:
                raise DataFileError(f"{where}: {field.name} refers to unknown external id {full!r}")
            return record.id

        if "ref" in value:
            return lookup(value["ref"])
        if "refs" in value:
            return [(6, 0, [lookup(r) for r in value["refs"]])]
        if "days" in value:  # dates relative to today, for demo data
            day = datetime.date.today() + datetime.timedelta(days=int(value["days"]))
            if field.type == "datetime":
                hour = int(value.get("hour", 9))
                return datetime.datetime.combine(day, datetime.time(hour))
            return day
        raise DataFileError(
            f"{where}: {field.name}: expected {{ ref = ... }}, {{ refs = [...] }} or {{ days = N }}"
        )

    def remove_obsolete(self, env, module, seen):
        """On upgrade, delete records whose external ids vanished from the data files."""
        for name, (model_name, res_id, noupdate, row_id) in self._existing(module).items():
            if name in seen or noupdate or model_name not in self.registry.models:
                continue
            if model_name in ("ir.module.module",):
                continue
            env[model_name].sudo().browse(res_id).exists().unlink()
            env["ir.model.data"].sudo().browse(row_id).exists().unlink()
