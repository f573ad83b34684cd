"""The Slack front end: the Bolt app, its listeners, command parsing and Block Kit."""
