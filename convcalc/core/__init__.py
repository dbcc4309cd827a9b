"""The arithmetic: layer records, one formula per layer kind, output-size geometry, receptive
fields, the walk over a network, the budgets and the errors. Pure: it imports nothing of the
rest of convcalc, and no typer, rich or yaml."""
