"""Staff lists (convention art. 11): the DPO asks a partner for its list of authorised staff, the partner
certifies it (a signed snapshot, frozen), and a periodic review keeps the list from going stale."""
