"""registry-bot: Slack chat-ops for self-hosted container registries."""
