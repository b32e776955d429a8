"""Layer ``web``: the web client's pages, JSON calls, templates and static files."""
