"""Google Calendar v3 and Google OAuth adapters."""
