"""The SQL half: SQL text to statement facts, and statement facts to IR.

The only package that imports sqlglot (a test checks it). Every front-end
that meets SQL (DB-API strings, SQLAlchemy `text()`, `.sql` files, runtime
traces) goes through it.
"""
