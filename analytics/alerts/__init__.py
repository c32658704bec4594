"""Alerts: what the rules raise, how an alert lives (open → acknowledged → resolved), where
it is kept and who is told."""
