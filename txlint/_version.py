"""txlint's version: one constant, read by the build (`pyproject.toml`) and at run time without
asking the installed metadata (that import and lookup cost a warm run a tenth of its time)."""

__version__ = "0.1.0"
