"""Environments: the user, the context and the per-transaction cache that recordsets share."""

from __future__ import annotations

import contextlib
import logging

from core.exceptions import KontoraError
from core.i18n import activate, deactivate
from core.orm.write import recompute_field

SUPERUSER_ID = 1
_logger = logging.getLogger(__name__)


class TransactionState:
    """What every environment of one transaction shares: cache, pending recomputes, callbacks."""

    def __init__(self):
        self.cache: dict = {}
        self.tocompute: dict = {}
        self.protected: dict = {}
        self.after_commit: list = []
        self.registry_changed = False
        self.stored_registry_version = None  # as read with the access version (core.orm.access)
        self.access = None  # rights metadata (core.orm.access)
        self.rule_domains: dict = {}  # evaluated record rules per (uid, model, operation)
        self.readable: dict = {}  # (uid, model) -> ids a rule-filtered search returned


class Environment:
    """``env["crm.lead"]`` gives the model's empty recordset for this user and context."""

    def __init__(self, registry, uid=SUPERUSER_ID, context=None, su=False, state=None):
        self.registry = registry
        self.uid = uid
        self.context = dict(context or {})
        self.su = su
        self.state = state or TransactionState()

    def __getitem__(self, model_name):
        try:
            cls = self.registry.models[model_name]
        except KeyError:
            raise KontoraError(f"unknown model {model_name!r}") from None
        return cls._browse_cls(self, (), ())

    def __contains__(self, model_name):
        return model_name in self.registry.models

    @property
    def db(self):
        return self.registry.db

    def is_superuser(self) -> bool:
        """Trusted code: ``sudo()`` or the system user, to whom no access check applies."""
        return self.su or self.uid == SUPERUSER_ID

    @property
    def user(self):
        return self["res.users"].sudo().browse(self.uid)

    @property
    def lang(self):
        return self.context.get("lang") or "en"

    def _copy(self, **changes):
        values = {"uid": self.uid, "context": self.context, "su": self.su, **changes}
        return Environment(
            self.registry, values["uid"], values["context"], values["su"], self.state
        )

    def sudo(self, flag=True):
        """An environment that bypasses access checks: for trusted server code only."""
        return self._copy(su=bool(flag))

    def with_user(self, user):
        uid = user.id if hasattr(user, "_ids") else int(user)
        return self._copy(uid=uid, su=False)

    def with_context(self, *args, **kwargs):
        context = dict(args[0]) if args else dict(self.context)
        context.update(kwargs)
        return self._copy(context=context)

    def ref(self, xml_id, raise_if_not_found=True):
        """The record with external id ``addon.name``."""
        return self.registry.data.ref(self, xml_id, raise_if_not_found)

    def translate(self, text, **values):
        """``text`` in this environment's language (core and installed addons' catalogs),
        with ``%(name)s`` placeholders filled from ``values``."""
        result = self.registry.translate(text, self.lang)
        return result % values if values else result

    def recompute(self, field=None):
        """Recompute queued stored computed fields (one field, or all until none is left)."""

        if field is not None:
            recompute_field(self, field)
            return
        tocompute = self.state.tocompute
        guard = 0
        while True:
            pending = [f for f, ids in tocompute.items() if ids]
            if not pending:
                tocompute.clear()
                return
            for f in pending:
                recompute_field(self, f)
            guard += 1
            if guard > 1000:
                raise KontoraError(
                    "recompute does not settle: computed fields depend on each other in a loop"
                )

    @contextlib.contextmanager
    def atomic(self):
        """One ORM operation: all or nothing (a savepoint inside an open transaction).

        Outside any transaction (shell, scripts) the operation is its own transaction, and
        its after-commit callbacks run when it commits.
        """
        nested = self.db.in_transaction()
        try:
            with self.db.atomic():
                yield
        except BaseException:
            self.state.cache.clear()
            self.state.tocompute.clear()
            if not nested:
                _pending(self.db).clear()
            raise
        if not nested:
            _after_outermost(self.db, self.state, False)

    def invalidate_all(self):
        """Forget every cached value (after raw SQL, or to see other transactions' writes)."""
        self.state.cache.clear()

    def on_commit(self, callback):
        """Run ``callback()`` after the transaction commits (e.g. to enqueue a job).

        Outside any transaction the data is already committed, so it runs at once."""
        if self.db.in_transaction():
            self.state.after_commit.append(callback)
        else:
            _run_callbacks([callback])

    def enqueue(self, job_name, /, **payload):
        """Queue a background job once this transaction has committed."""
        registry = self.registry
        self.on_commit(lambda: registry.jobs.enqueue(job_name, **payload))


def _pending(db) -> list:
    """Callbacks of committed inner transactions, waiting for the outermost commit: kept in
    the database's connection state of this thread (peewee's ``db._state``), so two
    databases, or two threads on one, never see each other's."""
    state = db._state
    store = getattr(state, "kontora_after_commit", None)
    if store is None:
        store = state.kontora_after_commit = []
    return store


def _run_callbacks(callbacks):
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed enqueue must not undo a committed change
            _logger.exception("after-commit callback failed")


def _after_outermost(db, state, nested):
    """Hand callbacks to the enclosing transaction, or run them now that all is committed."""
    callbacks, state.after_commit = list(state.after_commit), []
    if nested:
        _pending(db).extend(callbacks)
        return
    waiting = _pending(db)
    callbacks, waiting[:] = waiting + callbacks, []
    _run_callbacks(callbacks)


@contextlib.contextmanager
def transaction(registry, uid=SUPERUSER_ID, context=None, write=True, su=False, state=None):
    """One unit of work: a transaction and an environment; commit on success, else roll back.

    ``write=True`` takes SQLite's write lock at the start so that concurrent writers queue
    instead of failing on a lock upgrade. Inside another transaction this is a savepoint,
    and its after-commit callbacks wait for the outermost commit. ``state`` carries over
    what a statement run just before read (e.g. the access version: core.rest.routes).
    Inside it, ``core.i18n.translate`` uses this registry's catalogs.
    """
    db = registry.db
    nested = db.in_transaction()
    env = Environment(registry, uid, context, su, state)
    manager = db.write_transaction() if write and not nested else db.atomic()
    token = activate(registry)
    try:
        try:
            with manager:
                yield env
                env.recompute()
        except BaseException:
            if not nested:
                _pending(db).clear()
            raise
        _after_outermost(db, env.state, nested)
        if env.state.registry_changed:
            registry.reload_if_changed()
    finally:
        deactivate(token)
