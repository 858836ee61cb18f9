"""The running system: settings, database, queries, roles, API and CLI."""
