"""Readers of network descriptions: convcalc's YAML format and the bundled model zoo."""
