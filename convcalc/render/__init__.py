"""Everything a user reads: tables, JSON, CSV and Markdown of an analysis (report) and of the
teaching commands (teach). It formats; it computes nothing, and it imports no typer."""
