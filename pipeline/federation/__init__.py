"""Federated national reporting: a trust submits signed, disclosure-controlled aggregate packages;
a national collector verifies and merges them (issue 14, docs/federation.md).

`package` holds the format both sides agree on; `keys` the Ed25519 signing keys; `submit` builds
a site's package from its own warehouse; `verify` and `collect` are the national side.
"""
