"""HTML pages of messaging: the Messages section (templates, broadcasts, suppressions, topics,
settings, privacy) and the public endpoints (tracking, unsubscribe, preferences, webhooks)."""
