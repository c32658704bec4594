"""KPIs: the catalogue the pilot never had, computed over calendar windows from InfluxDB.

    catalogue.py       what each KPI is: formula, unit, target, direction, source (versioned)
    windows.py         15 min, hour, day, week, month in Asia/Ho_Chi_Minh
    intervals.py       time-interval arithmetic (presence, bookings, excursions)
    aggregate.py       contributions → numerator/denominator per KPI, scope and window
    service_centre.py  tickets, counters and officers → contributions
    meeting_rooms.py   bookings, sessions and occupancy → contributions
    devices.py         camera stream health and sensor data → contributions
    operations.py      alert transitions → contributions
    facts.py           event rows, scope chains, office sessions
    inputs.py          what one day of InfluxDB holds, read into those facts
    influx.py          the InfluxDB v1 calls the engine needs
    engine.py          dirty windows by event time, recompute from InfluxDB, write `kpi`
    scorecard.py       target vs actual, traffic light, trend against the previous period
    history.py         one KPI's windows over a period, with their lights
    settings.py        the rules no device reports (office hours, SLA target, limits, …)
    docs.py            docs/kpis.md from the catalogue

Errors (``analytics.kpis.errors``)::

    KpiError
    └── KpiStoreError      InfluxDB refused or did not answer (the windows stay dirty)

A point the engine cannot use (an alert transition without ``opened_at``) is logged with
its time, site and rule and skipped; the others are the device contract's, validated by
ingest before they were written."""
