"""The embedded twin service: Eclipse Ditto's HTTP API v2 served from SQLite.

`store.TwinStore` keeps things and policies, `api.create_twin_app` serves them over HTTP;
`rql`, `fields`, `policies`, `auth` and `sse` are the pieces of Ditto's semantics.
"""
