"""Contacts: companies and persons, their tags, tax ids and bank accounts."""

from core import hookimpl

from . import models


@hookimpl
def register_models():
    return models.MODELS


def after_install(env):
    """Named in the manifest: runs once, when contacts is installed, after its data."""
    # On a demo database the demo user is a salesman, so that signing in as him shows
    # what "own documents" means; his demo partners are assigned to him.
    demo_user = env.ref("base.user_demo", raise_if_not_found=False)
    if demo_user:
        group = env.ref("contacts.group_sale_salesman")
        demo_user.write({"groups_id": [(4, group.id)]})


@hookimpl
def register_views():
    # Imported here: the view classes belong to the web client, which the models do not need.
    from . import views

    return views.declarations()
