"""Alert rules: YAML rule files and calendars, evaluated over the event stream in event time.

- `config`: the rule file models (one file per site or site pattern and device kind);
- `calendar`: office hours, lunch, Vietnamese public holidays, make-up working days;
- `ruleset`: a rule directory loaded whole, reloaded without a restart (a broken file
  keeps the previous rules);
- `inputs`: normalized events, presence events and stream health as `Fact`s;
- `evaluators`: one state machine per rule type and device;
- `engine`: the reorder buffer and watermark that feed them in event-time order.

Errors (`errors.py`)::

    ValueError
     └── RuleFileError        a rule directory with problems (file:line: field: message)

The output is `analytics.alerts.model.AlertSignal`; what becomes of a signal (an alert
with a life, notifications) is `analytics.alerts`' business. See docs/rules.md.
"""
