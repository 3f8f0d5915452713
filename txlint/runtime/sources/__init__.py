"""Where a runtime trace comes from: one module per hook (SQLAlchemy events, Django's execute
wrappers, a DB-API connection wrapper, the drivers' `connect` functions)."""
