"""Shared HTML scaffolding for the consent and calendar pages: small, accessible, usable on a phone."""

from __future__ import annotations

import html

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:42rem;padding:1rem;line-height:1.4}"
    "button{font-size:1rem;padding:.55rem .9rem;margin:.2rem .25rem .2rem 0;min-height:44px;border-radius:6px;"
    "border:1px solid #888;background:#f4f4f4}button.primary{background:#1a73e8;color:#fff;border-color:#1a73e8}"
    "button[aria-pressed=true]{background:#e8f0fe;border-color:#1a73e8;font-weight:600}"
    "input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box}"
    "li.event{border:1px solid #ddd;border-radius:8px;padding:.75rem;margin:.5rem 0;list-style:none}"
    "ul{padding:0}.meta{color:#555;font-size:.9rem}form.inline{display:inline}"
    ".error{color:#a50e0e}"
)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1"><link rel=icon href="data:,">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def error_page(code: int, error: str, description: str) -> str:
    """Google's OAuth error page: "Error 400: redirect_uri_mismatch" and a sentence (no redirect)."""
    return page(
        f"Error {code}: {error}",
        f'<main><h1 data-testid="oauth-error">Error {code}: {esc(error)}</h1>'
        f'<p data-testid="oauth-error-description">{esc(description)}</p></main>',
    )
