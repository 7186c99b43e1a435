"""Developer tools: the local demo (`make demo`) and what it shares with tests/e2e."""
