"""The only package that knows SQL: engine, tables, unit of work, repos, migrations."""
