"""The obligations scorecard: per partner and for the whole network, where each processor obligation
stands, with the records behind each line (issue #7)."""
