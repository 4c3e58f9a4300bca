"""The resource catalog: the source of truth. Knows nothing of matching; the index subscribes to its changes."""
