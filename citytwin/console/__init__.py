"""The operator console: the province at a glance, Vietnamese first (``?lang=en``)."""
