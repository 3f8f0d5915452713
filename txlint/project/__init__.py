"""The project a run checks: its settings files, its files, its root and cache folder."""
