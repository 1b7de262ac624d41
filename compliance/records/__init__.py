"""The record of processing activities (GDPR art. 30): the controller's record of the processing the
convention describes (art. 11) and each partner's record of what it carries out for the controller
(30(2)). Every save is a new, immutable version; nothing is deleted."""
