"""Accounts, roles, permissions and the one authorisation mechanism."""
