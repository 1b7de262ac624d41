"""Personal-data breaches: declaration by the partner, acknowledgement of receipt, the 72-hour clock,
risk assessment, CNIL notifications, communication to the people affected, the register (GDPR 33-34)."""
