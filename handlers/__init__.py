"""The Slack edge: Bolt listeners and Block Kit renderers."""
