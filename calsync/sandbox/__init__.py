"""Local emulators of Google Calendar v3 + Google OAuth and Microsoft Graph + the identity platform.

See docs/sandbox.md. Entry points: :class:`calsync.sandbox.app.Sandbox` (in-process ASGI app) and
:func:`calsync.sandbox.server.start_in_thread` (HTTPS on a real socket).
"""
