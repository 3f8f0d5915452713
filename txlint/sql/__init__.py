"""The SQL half: SQL text to statement facts, and statement facts to IR.

The only package that imports sqlglot (a test checks it). Every front-end
that meets SQL (DB-API strings, SQLAlchemy `text()`, `.sql` files, runtime
traces) goes through it:

- `parse`: text → `facts.Statement`s (`parse_statements`, `parse_script`;
  `parse_file` for `.sql` files, read as their client program runs them),
  DDL → `facts.TableSchema`s (`table_schemas`);
- `to_ir`: a `Statement` → the IR operation it performs, with its
  placeholders bound by the caller; DDL → the project index's declarations.
"""

from txlint.sql.facts import SqlError, Statement, TableSchema
from txlint.sql.parse import ScriptFile, check_script, dialect_names, parse_file, parse_script, parse_statements, table_schemas

__all__ = [
    "ScriptFile", "SqlError", "Statement", "TableSchema", "check_script", "dialect_names", "parse_file", "parse_script",
    "parse_statements", "table_schemas",
]  # fmt: skip
