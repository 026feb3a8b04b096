"""Federated national reporting: a trust submits signed, disclosure-controlled aggregate packages;
a national collector verifies and merges them (issue 14, docs/federation.md).

`package` holds the format both sides agree on; `keys` the Ed25519 signing keys; `site_tables`
reads a site's package tables from its own warehouse and `submit` writes them, signed; `verify`
and `collect` are the national side.
"""
