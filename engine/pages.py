"""The index page: registered workflows with links to their pictures and API documents."""

from __future__ import annotations

from html import escape
from urllib.parse import quote


def index_html(workflows: list[str]) -> str:
    """A self-contained HTML page (no external assets) listing ``workflows``."""
    rows = []
    for name in workflows:
        n, q = escape(name), quote(name, safe="")
        rows.append(
            f"<tr><td><b>{n}</b></td>"
            f'<td><a href="/definition/{q}">definition</a></td>'
            f'<td><a href="/graph/{q}?format=svg">graph</a> · '
            f'<a href="/graph/{q}?format=mermaid">Mermaid</a> · '
            f'<a href="/graph/{q}?format=dot">DOT</a></td>'
            f'<td><a href="/openapi/{q}">OpenAPI</a></td>'
            f'<td><a href="/wf/{q}">instances</a></td></tr>'
        )
    body = "\n".join(rows) or '<tr><td colspan="5">no workflows registered</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workflows</title>
<style>body{{font-family:sans-serif;margin:2em}}td{{padding:.3em 1em}}</style></head>
<body><h1>Workflows</h1>
<table id="workflows">
{body}
</table></body></html>
"""
