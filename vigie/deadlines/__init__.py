"""Deadlines: the one clock mechanism, the working-day calendar, reminders, dashboards, feeds."""
