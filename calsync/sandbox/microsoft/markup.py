"""Tiny HTML helpers shared by the consent page, the identity error page and the calendar page.

Plain forms, labelled controls and a viewport meta so the pages work on a phone and in a browser test.
"""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:1rem;line-height:1.4}"
    "button{font-size:1rem;padding:.5rem 1rem;margin:.25rem .25rem .25rem 0;min-height:44px}"
    "input,select{font-size:1rem;padding:.4rem;min-height:40px}"
    ".event{border:1px solid #ccc;border-radius:8px;padding:.75rem;margin:.75rem 0}"
    ".muted{color:#555}.error{border-left:4px solid #b00;padding-left:.75rem}"
    "form.inline{display:inline}"
    "button.primary{background:#0f6cbd;border:1px solid #0f6cbd;color:#fff;border-radius:4px}"
)


def page(title: str, body: str) -> str:
    """A complete, accessible HTML document (``body`` is trusted markup built with :func:`e`)."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1"><link rel=icon href="data:,">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def e(value: object) -> str:
    """Escape text or an attribute value."""
    return escape(str(value), quote=True)


def hidden(fields: dict[str, str]) -> str:
    return "".join(f'<input type=hidden name="{e(k)}" value="{e(v)}">' for k, v in fields.items())
