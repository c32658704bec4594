"""Open data: what outside systems may read without an operator's account.

    /ngsi-ld/v1/entities[/{id}]          the sensors as NGSI-LD entities (ETSI GS CIM 009)
    /ngsi-ld/v1/temporal/entities/{id}   their history, read from InfluxDB
    /ngsi-ld/v1/jsonld-contexts/citytwin.jsonld   the @context, shipped in this package
    /open/kpis/daily.{json,csv}          service-centre KPIs per day and site
    /open/indicators.{json,csv}          the sectors' public indicators, the figures in force
    /open/catalog                        the DCAT-AP catalogue of the above
    /open/whoami                         the caller's access and quota (the trivial route)

Everything here is read-only and built from an allow-list of fields: a twin or a point is
never passed through, so a field added to a twin later (an officer, a ticket, a stream URL)
stays private until someone maps it here on purpose (docs/integration.md says what is
never published and why). Every route is behind the quota of `citytwin.open.quota`.
"""
