"""The large hostile descriptions, made rather than committed: name → text."""

FILES = {
    "deep_flow.yaml": "input: [3, 8, 8]\nlayers: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep_block.yaml": "input: [3, 8, 8]\nlayers:\n" + "".join(" " * i + "- \n" for i in range(1, 1000)),
    "ten_megabytes.yaml": "input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * 1_250_000,
    "many_ids.yaml": "input: [3, 8, 8]\nlayers:\n" + "".join(f"  - {{relu: null, id: a{i}}}\n" for i in range(18_000))
                     + "  - add: [[], a17999x]\n",
    "long_name.yaml": "input: [3, 8, 8]\nlayers:\n  - {relu: null, name: '" + "n" * 400_000 + "'}\n  - conv: {c: 8, k: 99}\n",
}
