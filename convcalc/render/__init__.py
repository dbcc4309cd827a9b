"""Everything a user reads: tables, JSON, CSV and Markdown of an analysis (report) and of the teaching
commands (teach), and the message catalogs (i18n, locale/). It formats and translates — a core `Note`
is said here — it computes nothing, and it imports no typer."""
