"""The `scifi replicate` command that clones a pilot between brokers; to be built."""
