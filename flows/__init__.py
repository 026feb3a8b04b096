"""Prefect flows: thin wrappers that call the pipeline packages and report runs."""
