"""txlint's rules, one module per rule (shipped as the `txlint.rules` package).

Each module holds one `txlint.core.rule.Rule` subclass; `txlint.core.registry` finds
them by importing every module here, so adding a rule is adding a module.
"""
