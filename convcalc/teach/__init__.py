"""Teaching: numeric evaluation of a layer on given values (compute) and inverse questions
(solve). Pure functions over the core; no typer, rich or yaml."""
