"""Users, roles and grants scoped to the plant tree, sessions (the security issue completes this context)."""
