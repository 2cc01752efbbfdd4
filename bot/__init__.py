"""virtsec core: knowledge, lookup, quiz, scoring, storage. Knows nothing of Slack."""
