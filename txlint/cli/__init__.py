"""The command line and the CI-gate features (baselines, changed lines, added ignores, reporters).

The only layer that prints.
"""
