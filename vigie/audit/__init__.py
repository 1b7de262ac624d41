"""The audit trail: who changed what and when, append-only and hash-chained."""
