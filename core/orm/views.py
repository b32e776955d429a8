"""View, menu, action and widget declarations; patches; validation against the registry.

Addons return these from ``register_views`` (see docs/views.md). ``build_views(registry)``
copies every declaration, applies patches in dependency order, adds default views for
models nobody described, and checks every field, button and relation against the
registry, so a broken view stops the build with the addon and view named.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from core.orm.registry import RegistryError
from core.plugins import call_in_order

# -- nodes ----------------------------------------------------------------------------------------


@dataclass
class Field:
    """A field in a form, list, kanban card or calendar popup."""

    name: str
    string: str | None = None
    widget: str | None = None
    readonly: object = None
    required: object = None
    invisible: object = None
    fields: tuple = ()  # the inline columns of a one2many

    @property
    def id(self):
        return self.name


@dataclass
class Group:
    id: str
    children: list
    string: str | None = None


@dataclass
class Page:
    id: str
    string: str
    children: list


@dataclass
class Notebook:
    id: str
    pages: list

    @property
    def children(self):
        return self.pages


@dataclass
class Button:
    """A status-bar button calling a public model method."""

    method: str
    string: str
    kind: str = "primary"
    invisible: object = None
    confirm: str | None = None

    @property
    def id(self):
        return self.method


@dataclass
class SmartButton:
    """A count of related records (``model`` whose ``field`` is this record) that opens them."""

    id: str
    string: str
    model: str
    field: str
    action: str | None = None
    domain: list | None = None  # more conditions, e.g. [("res_model", "=", "crm.lead")]


@dataclass
class Filter:
    id: str
    string: str
    domain: list


@dataclass
class GroupBy:
    id: str
    string: str
    field: str


# -- views ----------------------------------------------------------------------------------------


class View:
    """A view of one model; ``containers`` name the attributes holding patchable node lists."""

    kind = ""
    containers: tuple = ()

    def _setup(self, model, id):
        self.model = model
        self.id = id or f"{model}.{self.kind}"
        for name in self.containers:
            setattr(self, name, _nodes(getattr(self, name)))

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}>"


def _node(value):
    return Field(value) if isinstance(value, str) else value


def _nodes(values):
    """Nodes with field names given as strings turned into ``Field``s, at every depth."""
    out = []
    for value in values:
        node = _node(value)
        if isinstance(node, Group | Page):
            node.children = _nodes(node.children)
        elif isinstance(node, Notebook):
            node.pages = _nodes(node.pages)
        out.append(node)
    return out


class ListView(View):
    kind = "list"
    containers = ("fields",)

    def __init__(self, model, fields, id=None, order=None, sum=None):
        self.fields, self.order, self.sum = list(fields), order, sum
        self._setup(model, id)


class FormView(View):
    kind = "form"
    containers = ("body", "header", "smart_buttons")

    def __init__(self, model, body, header=(), smart_buttons=(), id=None, chatter=True):
        self.body, self.header, self.smart_buttons = list(body), list(header), list(smart_buttons)
        self.chatter = chatter
        self._setup(model, id)


class KanbanView(View):
    kind = "kanban"

    containers = ("fields",)

    def __init__(
        self,
        model,
        group_by,
        fields,
        id=None,
        sum_field=None,
        quick_create=True,
        color=None,
        limit=20,
    ):
        self.group_by, self.fields, self.limit = group_by, list(fields), limit
        self.sum_field, self.quick_create, self.color = sum_field, quick_create, color
        self._setup(model, id)


class CalendarView(View):
    kind = "calendar"

    containers = ("fields",)

    def __init__(self, model, date_start, date_stop=None, id=None, color=None, fields=()):
        self.date_start, self.date_stop, self.color, self.fields = (
            date_start,
            date_stop,
            color,
            list(fields),
        )
        self._setup(model, id)


class GraphView(View):
    kind = "graph"

    def __init__(self, model, groupby, measure=None, chart="bar", id=None):
        self.groupby, self.measure, self.chart = list(groupby), measure, chart
        self._setup(model, id)


class PivotView(View):
    kind = "pivot"

    def __init__(self, model, rows, cols=(), measures=(), id=None):
        self.rows, self.cols, self.measures = list(rows), list(cols), list(measures)
        self._setup(model, id)


class SearchView(View):
    kind = "search"

    containers = ("fields", "filters", "group_bys")

    def __init__(self, model, fields=(), filters=(), group_bys=(), id=None):
        self.fields, self.filters, self.group_bys = list(fields), list(filters), list(group_bys)
        self._setup(model, id)


VIEW_KINDS = ("list", "form", "kanban", "calendar", "graph", "pivot", "search")


@dataclass
class Action:
    id: str
    string: str
    model: str
    views: tuple = ("list", "form")
    domain: list | None = None
    default_filters: tuple = ()
    default_group_by: str | None = None
    context: dict | None = None
    view_ids: dict | None = None


@dataclass
class Menu:
    id: str
    string: str
    parent: str | None = None
    action: str | None = None
    sequence: int = 10
    icon: str | None = None
    url: str | None = None  # a page of its own instead of an action
    groups: tuple = ()  # shown only to members of one of these groups (xml ids)


@dataclass
class Widget:
    name: str
    title: str
    fn: object
    sequence: int = 10


@dataclass
class Patch:
    view_id: str
    nodes: list
    after: str | None = None
    before: str | None = None
    inside: str | None = None
    replace: str | None = None


# -- building -------------------------------------------------------------------------------------


class Views:
    """The views, actions and menus of one registry build."""

    def __init__(self):
        self.views: dict[str, View] = {}
        self.actions: dict[str, Action] = {}
        self.menus: dict[str, Menu] = {}
        self.widgets: list[Widget] = []
        self.origin: dict[str, str] = {}  # view/action/menu id -> addon

    def get(self, model: str, kind: str, view_id: str | None = None) -> View | None:
        """The view of ``kind`` for ``model`` (a declared one, else a generated default)."""
        if view_id and view_id in self.views and self.views[view_id].kind == kind:
            return self.views[view_id]
        return self.views.get(f"{model}.{kind}")

    def menu_tree(self, allowed_models, in_group=lambda xml_id: True) -> list[dict]:
        """Menus as nested dicts, keeping those whose action's model is in ``allowed_models``
        (and whose groups include the user, by ``in_group``)."""
        children: dict = {}
        for menu in sorted(self.menus.values(), key=lambda m: (m.sequence, m.id)):
            children.setdefault(menu.parent, []).append(menu)

        def walk(parent):
            out = []
            for menu in children.get(parent, []):
                action = self.actions.get(menu.action) if menu.action else None
                kids = walk(menu.id)
                if menu.groups and not any(in_group(x) for x in menu.groups):
                    continue
                if action is not None and action.model not in allowed_models:
                    continue
                if action is None and not kids and not menu.url:
                    continue
                out.append({"menu": menu, "action": action, "children": kids})
            return out

        return walk(None)

    def actions_for(self, model: str) -> list[Action]:
        return [a for a in self.actions.values() if a.model == model]


def build_views(registry) -> Views:
    """Collect, patch, complete and validate every installed addon's declarations."""

    result = Views()
    patches = []
    for addon, items in call_in_order(registry.pm, "register_views", registry.addon_names):
        for item in items:
            if isinstance(item, Patch):
                patches.append((addon, item))
                continue
            item = copy.deepcopy(item)
            target = _target_dict(result, item)
            if target is None:
                raise RegistryError(f"addon '{addon}': register_views returned {item!r}")
            if item.id in target:
                raise RegistryError(
                    f"addon '{addon}': {type(item).__name__} {item.id!r} is already declared by "
                    f"addon '{result.origin[item.id]}'; patch it instead"
                )
            target[item.id] = item
            result.origin[item.id] = addon
    for addon, patch in patches:
        _apply_patch(result, addon, patch)
    for _addon, widgets in call_in_order(registry.pm, "register_dashboard", registry.addon_names):
        result.widgets.extend(widgets)
    result.widgets.sort(key=lambda w: (w.sequence, w.name))
    _add_custom_fields(registry, result)
    _add_defaults(registry, result)
    for view_id, view in result.views.items():
        _validate_view(registry, result.origin.get(view_id, "base"), view)
    _validate_actions_menus(registry, result)
    return result


def _target_dict(result, item):
    if isinstance(item, View):
        return result.views
    if isinstance(item, Action):
        return result.actions
    if isinstance(item, Menu):
        return result.menus
    return None


def _apply_patch(result, addon, patch):
    view = result.views.get(patch.view_id)
    where = f"addon '{addon}': patch of view {patch.view_id!r}"
    if view is None:
        raise RegistryError(f"{where}: no such view")
    nodes = _nodes(patch.nodes)
    anchors = [a for a in (patch.after, patch.before, patch.inside, patch.replace) if a]
    if len(anchors) != 1:
        raise RegistryError(f"{where}: give exactly one of after, before, inside, replace")
    if patch.inside:
        container = _find_container(view, patch.inside)
        if container is None:
            raise RegistryError(f"{where}: no container {patch.inside!r}")
        container.extend(nodes)
        return
    anchor = patch.after or patch.before or patch.replace
    found = _find_parent(view, anchor)
    if found is None:
        raise RegistryError(f"{where}: no node {anchor!r} to put the new nodes next to")
    siblings, index = found
    if patch.after:
        siblings[index + 1 : index + 1] = nodes
    elif patch.before:
        siblings[index:index] = nodes
    else:
        siblings[index : index + 1] = nodes


def _containers(view):
    for name in view.containers:
        yield name, getattr(view, name)


def _find_container(view, name):
    for cname, nodes in _containers(view):
        if cname == name:
            return nodes
    for _cname, nodes in _containers(view):
        found = _find_parent(view, name, nodes)
        if found is not None:
            node = found[0][found[1]]
            return getattr(node, "children", None)
    return None


def _find_parent(view, node_id, nodes=None):
    """``(list, index)`` of the node with ``node_id``, searched depth-first."""
    lists = [nodes] if nodes is not None else [n for _c, n in _containers(view)]
    for siblings in lists:
        for index, node in enumerate(siblings):
            if getattr(node, "id", None) == node_id:
                return siblings, index
            kids = getattr(node, "children", None)
            if kids:
                found = _find_parent(view, node_id, kids)
                if found is not None:
                    return found
    return None


def iter_fields(nodes):
    """Every ``Field`` node among ``nodes``, depth-first."""
    for node in nodes:
        if isinstance(node, Field):
            yield node
        kids = getattr(node, "children", None)
        if kids:
            yield from iter_fields(kids)


def form_fields(view) -> list[str]:
    return [f.name for f in iter_fields(view.body)]


# -- defaults and custom fields -------------------------------------------------------------------

_SKIP_DEFAULT = frozenset(
    {"id", "create_uid", "write_uid", "create_date", "write_date", "display_name"}
)


def _visible_model_fields(cls):
    return [
        (n, f)
        for n, f in cls._fields.items()
        if n not in _SKIP_DEFAULT and f.type not in ("binary", "json")
    ]


def _add_defaults(registry, result):
    """A list, form and search view for every model that has none declared."""
    for name, cls in registry.models.items():
        if cls._abstract:
            continue
        fields = _visible_model_fields(cls)
        rec = cls._rec_name if cls._rec_name in cls._fields else None
        if f"{name}.list" not in result.views:
            cols = ([rec] if rec else []) + [
                n for n, f in fields if n != rec and f.type not in ("one2many", "many2many", "text")
            ][:6]
            result.views[f"{name}.list"] = ListView(name, cols or ["id"])
        if f"{name}.form" not in result.views:
            simple = [Field(n) for n, f in fields if f.type not in ("one2many", "many2many")]
            pages = [
                Page(n, f.string, [Field(n)])
                for n, f in fields
                if f.type in ("one2many", "many2many")
            ]
            body = [Group("main", simple)]
            if pages:
                body.append(Notebook("pages", pages))
            result.views[f"{name}.form"] = FormView(name, body)
        if f"{name}.search" not in result.views:
            result.views[f"{name}.search"] = SearchView(name, fields=[rec] if rec else [])


def _add_custom_fields(registry, result):
    """Administrators' custom fields appear in the model's form and list."""
    for name, cls in registry.models.items():
        manual = [n for n, f in cls._fields.items() if getattr(f, "manual", False)]
        if not manual:
            continue
        form = result.views.get(f"{name}.form")
        if form is not None:
            present = set(form_fields(form))
            extra = [Field(n) for n in manual if n not in present]
            if extra:
                form.body.append(Group("custom_fields", extra, "Custom fields"))
        listing = result.views.get(f"{name}.list")
        if listing is not None:
            present = {f.name for f in listing.fields}
            listing.fields.extend(Field(n) for n in manual if n not in present)


# -- validation -----------------------------------------------------------------------------------


def _check_path(registry, model, path, where):
    cls = registry.models[model]
    parts = path.split(".")
    for i, part in enumerate(parts):
        fld = cls._fields.get(part)
        if fld is None:
            raise RegistryError(f"{where}: model {cls._name!r} has no field {part!r}")
        if i < len(parts) - 1:
            if fld.type != "many2one":
                raise RegistryError(f"{where}: {path!r} goes through {part!r}, not a many2one")
            cls = registry.models[fld.comodel_name]
    return fld


def _check_domain(registry, model, domain, where):
    for term in domain or ():
        if isinstance(term, (list, tuple)) and len(term) == 3:
            _check_path(registry, model, term[0], where)


def _validate_view(registry, addon, view):
    where = f"addon '{addon}': view {view.id!r}"
    if view.model not in registry.models:
        raise RegistryError(f"{where}: no model {view.model!r}")
    model = view.model
    cls = registry.models[model]
    for _cname, nodes in _containers(view):
        for fnode in iter_fields(nodes):
            if not isinstance(fnode, Field):
                continue
            fld = _check_path(registry, model, fnode.name, where)
            for attr in ("readonly", "required", "invisible"):
                value = getattr(fnode, attr)
                if isinstance(value, (list, tuple)):
                    _check_domain(registry, model, value, where)
            for sub in fnode.fields:
                if fld.type not in ("one2many", "many2many"):
                    raise RegistryError(f"{where}: {fnode.name!r} has line columns but no lines")
                _check_path(registry, fld.comodel_name, sub, where)
        for node in _walk(nodes):
            if isinstance(node, Button):
                method = getattr(cls, node.method, None)
                if method is None or not callable(method):
                    raise RegistryError(f"{where}: model {model!r} has no method {node.method!r}")
                if not (node.method.startswith("action_") or getattr(method, "_api_public", False)):
                    raise RegistryError(f"{where}: method {node.method!r} is not public")
            elif isinstance(node, SmartButton):
                if node.model not in registry.models:
                    raise RegistryError(
                        f"{where}: smart button {node.id!r}: no model {node.model!r}"
                    )
                _check_path(registry, node.model, node.field, where)
                _check_domain(registry, node.model, node.domain, where)
            elif isinstance(node, Filter):
                _check_domain(registry, model, node.domain, where)
            elif isinstance(node, GroupBy):
                _check_path(registry, model, node.field.split(":")[0], where)
    if isinstance(view, KanbanView):
        fld = _check_path(registry, model, view.group_by, where)
        if fld.type not in ("many2one", "selection"):
            raise RegistryError(f"{where}: kanban columns need a many2one or selection field")
        if view.sum_field:
            _check_path(registry, model, view.sum_field, where)
    elif isinstance(view, CalendarView):
        for name in (view.date_start, view.date_stop, view.color):
            if name:
                _check_path(registry, model, name, where)
    elif isinstance(view, GraphView | PivotView):
        groupings = view.groupby if isinstance(view, GraphView) else view.rows + view.cols
        for name in groupings:
            _check_path(registry, model, name.split(":")[0], where)
        measures = [view.measure] if isinstance(view, GraphView) else view.measures
        for name in measures:
            if name:
                _check_path(registry, model, name, where)
    elif isinstance(view, ListView) and view.order:
        for term in view.order.split(","):
            _check_path(registry, model, term.split()[0], where)


def _walk(nodes):
    for node in nodes:
        yield node
        kids = getattr(node, "children", None)
        if kids:
            yield from _walk(kids)


def _validate_actions_menus(registry, result):
    for action in result.actions.values():
        where = f"addon '{result.origin.get(action.id)}': action {action.id!r}"
        if action.model not in registry.models:
            raise RegistryError(f"{where}: no model {action.model!r}")
        for kind in action.views:
            if kind not in VIEW_KINDS:
                raise RegistryError(f"{where}: unknown view kind {kind!r}")
            if result.get(action.model, kind, (action.view_ids or {}).get(kind)) is None:
                raise RegistryError(f"{where}: model {action.model!r} has no {kind} view")
        _check_domain(registry, action.model, action.domain, where)
        search = result.get(action.model, "search")
        known = {f.id for f in search.filters} if search else set()
        for name in action.default_filters:
            if name not in known:
                raise RegistryError(f"{where}: no filter {name!r} in the search view")
    for menu in result.menus.values():
        where = f"addon '{result.origin.get(menu.id)}': menu {menu.id!r}"
        if menu.parent and menu.parent not in result.menus:
            raise RegistryError(f"{where}: no parent menu {menu.parent!r}")
        if menu.action and menu.action not in result.actions:
            raise RegistryError(f"{where}: no action {menu.action!r}")
