"""Bodies (the steering committee, the working groups, any other), their meetings, attendance and
proxies, quorum, votes, the decision register, action items, minutes (convention art. 7-8)."""
