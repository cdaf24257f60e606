"""Accounts and access: users and roles, API tokens, dashboard sessions, one-time links and tickets."""
