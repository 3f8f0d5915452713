"""The qualified names SQLAlchemy Core is known by, and the instance kinds pass 1 files its module-level
engines under (`declarations.sqlalchemy_tables`), shared by pass 1 and the recogniser."""

from __future__ import annotations

ENGINE_FACTORIES = frozenset({
    "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlalchemy.engine.create.create_engine",
    "sqlalchemy.engine_from_config", "sqlalchemy.engine.engine_from_config",
    "sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.ext.asyncio.engine.create_async_engine",
    "sqlalchemy.ext.asyncio.async_engine_from_config",
})  # fmt: skip
ENGINE_TYPES = frozenset({
    "sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine",
    "sqlalchemy.ext.asyncio.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncEngine",
})  # fmt: skip
CONNECTION_TYPES = frozenset({
    "sqlalchemy.Connection", "sqlalchemy.engine.Connection", "sqlalchemy.engine.base.Connection",
    "sqlalchemy.ext.asyncio.AsyncConnection", "sqlalchemy.ext.asyncio.engine.AsyncConnection",
})  # fmt: skip
TABLE_TYPES = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table", "sqlalchemy.sql.schema.Table", "sqlalchemy.sql.Table"})
SELECT = frozenset({"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select", "sqlalchemy.future.select"})
UPDATE = frozenset({"sqlalchemy.update", "sqlalchemy.sql.update", "sqlalchemy.sql.expression.update"})
INSERT = frozenset({
    "sqlalchemy.insert", "sqlalchemy.sql.insert", "sqlalchemy.sql.expression.insert",
    "sqlalchemy.dialects.postgresql.insert", "sqlalchemy.dialects.postgresql.dml.insert",
    "sqlalchemy.dialects.mysql.insert", "sqlalchemy.dialects.mysql.dml.insert",
    "sqlalchemy.dialects.sqlite.insert", "sqlalchemy.dialects.sqlite.dml.insert",
})  # fmt: skip
TEXT = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})

# A name that says nothing else about its value but is called so is an engine (`engine.begin()`).
ENGINE_NAMES = frozenset({"engine", "async_engine"})
AUTOCOMMIT = "AUTOCOMMIT"
# What pass 1 files a module-level engine as (`ProjectIndex.instances`): `[AUTOCOMMIT]` marks one
# whose connections are in autocommit (no Python name has brackets, so none is taken for it).
ENGINE = "sqlalchemy.engine.Engine"
AUTOCOMMIT_ENGINE = "sqlalchemy.engine.Engine[AUTOCOMMIT]"
