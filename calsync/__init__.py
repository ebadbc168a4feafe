"""calsync: puts the events a person RSVPs to into their Google Calendar or Outlook calendar.

See docs/architecture.md for the layers and where each concept lives.
"""

__version__ = "0.1.0"
