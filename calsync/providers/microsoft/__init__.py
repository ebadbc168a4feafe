"""Microsoft Graph (calendar) and Microsoft identity platform adapters."""
