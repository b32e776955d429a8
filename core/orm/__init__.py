"""Layer ``orm``: fields, models, writes, domains, environment, registry, access, tracking,
view declarations. Imports ``db`` and ground modules."""
