"""The benefits engine's domain core: register, SPC, ITS, status, scan (no Prefect, no warehouse).

See docs/benefits.md. `pipeline.marts.realise` runs it over the warehouse; it works in a notebook too.
"""
