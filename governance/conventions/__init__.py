"""Conventions between the Département and each partner: terms, deliberations, signatures, prefecture
transmission, the evaluation due two months before expiry, renewal, formal notice and termination
(convention art. 1, 9, 10)."""
