"""Fakes of outside services (a Slack Web API on loopback) for tests."""
