"""Layer ``db``: connections (SQLite, PostgreSQL), DDL, backup. Imports only ground modules."""
