"""Rows of the authorisation table kept beside each feature's tests (merged by tests/test_authz.py).

Each module defines `ROWS` ({(endpoint, method): {role: status}}, built with `tests.authz_rows.helpers`)
and optionally `URL_ARGS` ({argument name: value or callable(factory, other_partner) -> value})."""
