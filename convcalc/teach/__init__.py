"""Teaching: the worked solution of a layer (explain), numeric evaluation of a layer on given values
(compute) and inverse questions (solve). Pure functions over the core; no typer, rich or yaml. Their
errors are Notes; the lines of a worked solution are still written in the installed language."""
