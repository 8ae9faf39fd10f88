"""Alerts: rules, deliveries and the channels that carry them (e-mail, webhook, chat)."""
