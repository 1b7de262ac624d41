"""The JSON API under /api/v1: bearer tokens, one error format, an OpenAPI document."""
