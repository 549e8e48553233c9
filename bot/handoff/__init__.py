"""Hand-off to a person: a citizen's question goes to the staff chat, a staff reply goes back (core)."""
