"""Sector statistics: the indicators leaders follow beside the KPIs.

The pilot only "aggregated figures supplied by sectors". Here each sector uploads its
periodic figures (JSON or CSV) against a catalogue (`catalogue`), row by row validated
(`figures`), stored in InfluxDB's `indicator` measurement with every revision kept
(`store`), and judged against the indicator's target with the scorecard's own light and
trend rules.
"""
