"""The bottom of the project: the dataset contracts and the helpers every layer needs to build
SQL over them (quoting, lineage columns, conforming an extract to its contract).

It imports nothing of ours, so connectors, expectations, the benefits engine and every stage
of the pipeline may import it.
"""
