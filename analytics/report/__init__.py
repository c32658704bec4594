"""The effectiveness report (`citytwin report`): a week's or a month's KPIs against their
targets, their daily trends, and how the centre answered its alerts — as HTML and PDF.

    period.py     ISO week or calendar month in Asia/Ho_Chi_Minh; the last complete one
    scope.py      a site of the registry, or the province
    sources.py    the `kpi` points the KPI engine stored; the alerts of the alert store
    incidents.py  alerts by type, response-time distributions, top incidents
    gather.py     everything one report shows
    charts.py     matplotlib (Agg) charts as PNG
    labels.py     the report's words in Vietnamese and English, numbers as each writes them
    render.py     HTML from templates/report.html (Jinja2), PDF with WeasyPrint

Errors (``analytics.report.errors``)::

    ReportError
    ├── ReportInputError   a period, start date or site the report cannot be made for
    ├── ReportSourceError  InfluxDB or the alert store did not answer (names the URL)
    └── ReportRenderError  the HTML or PDF could not be written
"""
