"""Subscriptions and their HTTP / MQTT notifications; to be built."""
