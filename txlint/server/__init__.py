"""`txlint server`: a language server over stdio, for editors (pygls and lsprotocol, the `lsp` extra).

The project is analysed once and kept in memory (`txlint.engine.workspace`);
each edit of an open file is judged against it, and its findings published as
diagnostics. Nothing here knows a rule or a library: findings come from the
engine, their documentation from the rules, fixes from `txlint.fixes`.
"""
