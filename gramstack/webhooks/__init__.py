"""Webhook delivery over HTTP: the ``WebhookSender`` of ``domain.ports``."""
