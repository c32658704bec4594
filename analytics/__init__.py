"""Analytics: alerts and KPIs computed from the normalized event stream (next milestone)."""
