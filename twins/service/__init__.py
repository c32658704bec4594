"""The embedded twin service: Eclipse Ditto's HTTP API v2 served from SQLite.

`store.TwinStore` keeps things and policies, `api.create_twin_app` serves them over HTTP.
`things`, `policy_service` and `search` carry Ditto's semantics; `access` and `policies`
decide who may do what; `options` and `conditions` parse and check what a request asks;
`rql` (with `rql_sql` and `rql_match`), `fields`, `views`, `sse` and `stream` are the
rest (docs/architecture.md lists each module's job).
"""
