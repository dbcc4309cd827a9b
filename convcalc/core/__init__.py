"""The arithmetic, pure: it imports nothing of the rest of convcalc, and no typer, rich or yaml.

- layers.py: one immutable record per layer kind; formulas.py: each kind's formula, and `KINDS`, the one
  registry of a kind's record, formula, what it keeps for backward and its --by-op group;
- network.py: the network's nodes and the walk over them, each row's figures worked out (cost, field, storages,
  time bound, count under the settings' rule) by the modules below;
- geometry.py, receptive.py, memory.py, counting.py: output sizes, fields, storages, other tools' and courses' rules;
- comparison.py: designs side by side, each figure's ratio to the first; tensors.py: an exact dense tensor;
- messages.py: `Note`, a sentence as data (English template and values), said in a language at the edge.
"""
