"""Fixes: edits that repair a finding, proposed per rule from the source, applied only when the
file re-parses and re-analyses without that finding (and with nothing new).

Rules know no library, so they propose no text: a finding says what is wrong and where; the
fixers here (`python_fixers`) know how Redis, Django and SQLAlchemy code writes the repair.
`propose` attaches each fix to its finding; `apply` edits the files, ruff's way: safe fixes with
`--fix`, unsafe ones (they change behaviour: take a lock, choose a value) with `--unsafe-fixes`.
"""
