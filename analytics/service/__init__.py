"""The ``citytwin analytics`` process: the rule engine, the alert lifecycle, notifications,
the device twins' ``alerts`` summary and the KPIs, wired and run (docs/alerts.md).

- `settings`: the ``analytics`` section;
- `runtime`: what the shell resolves for one process (endpoints, credentials);
- `pipeline`: engine → lifecycle, committed before the checkpoint may pass;
- `notices`, `summaries`: what a committed transition becomes;
- `health`: ``GET /health``;
- `service`: the tasks and their loops.
"""
