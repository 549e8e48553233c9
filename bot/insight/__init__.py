"""What citizens need, for staff: statistics over time (series and a chart) and CSV exports (core)."""
