"""Users, roles, county scope and API tokens (only hashes are stored)."""
