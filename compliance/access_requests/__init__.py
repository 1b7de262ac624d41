"""Requests from data subjects (GDPR 12, 15-22): intake, forwarding by partners, inquiries to the partners
(three working days), the one-month answer and its extension."""
