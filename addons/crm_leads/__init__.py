"""CRM leads: capture, assignment, conversion, the pipeline of deals, and its reports."""

from core.plugins import hookimpl

from . import capture, models


@hookimpl
def register_models():
    return models.MODELS


@hookimpl
def register_routes():
    return [capture.bp]


@hookimpl
def register_views():
    from . import views

    return views.declarations()


@hookimpl
def register_dashboard():
    from . import dashboard

    return dashboard.widgets()


@hookimpl
def register_commands(cli):
    from . import commands

    commands.add_to(cli)


@hookimpl
def addon_installed(env, addon):
    # Demo leads, deals and activities are generated (in batches) rather than listed in
    # TOML: 300 records with their history would make the demo files long and slow.
    if addon != "crm_leads":
        return
    module = env["ir.module.module"].sudo().search([("name", "=", "crm_leads")])
    if module.demo:
        from . import demo

        demo.load_demo(env)
