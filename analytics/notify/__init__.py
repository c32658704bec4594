"""Telling people about alerts: the MQTT alerts topic, signed webhooks and apprise channels.

The lifecycle hands every transition of an alert to `Notifier.notify` as an `AlertNotice`
(the alert's current state and what just happened to it); the notifier never blocks it:
each target has its own bounded queue and task.

    AlertNotice ──Notifier.notify──┬─▶ AlertTopicPublisher  retained QoS 1, one topic per alert
                                   ├─▶ WebhookSender × N    POST, HMAC-signed, retried, dead letters
                                   └─▶ ChannelSender × N    apprise URLs, Vietnamese then English

Errors::

    NotifyError
     └── NotifyConfigError      a channel URL apprise cannot use, named by its field
"""
