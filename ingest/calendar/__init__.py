"""Room bookings from the e-office calendar over CalDAV (RFC 4791).

Each meeting room of the registry has a calendar; ``citytwin calendar`` follows them all
and writes each room's bookings into its twin's ``booking`` feature and into InfluxDB
(measurement ``booking``). See docs/integration.md for the iCalendar properties read.

    settings.py   CalendarSettings (the `calendar:` section): server, account, polling
    source.py     RoomCalendar: one calendar followed by sync-token, or by ETags
    bookings.py   Booking and bookings_of: VEVENTs expanded over the window
    points.py     the `booking` line protocol
    sync.py       CalendarSync: rooms from the registry, the diff, twin and InfluxDB writes
    status.py     the verdict per calendar that `citytwin status` reads
    errors.py     CalendarError tree
"""
