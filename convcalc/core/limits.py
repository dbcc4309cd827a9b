"""The budgets that keep every input — however hostile — to a result or one clear error within
about two seconds and 200 MB. Each is checked before the work it guards; specs/README.md lists
them for users.
"""

MAX_FILE_BYTES = 512 << 10  # a description: 512 KiB (long networks are written with blocks and repeat)
MAX_NESTING = 64  # YAML collections inside collections; also blocks inside blocks, expression brackets
MAX_NODES = 1_000_000  # YAML values after expanding every alias
MAX_ROWS = 2_000_000  # rows of the analysis: layers, blocks and merges, repeats multiplied out
MAX_BUILT = 100_000  # items a description builds (a block used with the same arguments is built once)
MAX_INSTANCES = 10_000  # distinct (block, arguments) pairs a description uses
MAX_GRAPH_NODES = 50_000  # nodes of a model file's graph (an exported ResNet-50 holds about 120, a ViT-L about 2,000)
MAX_AXES = 32  # axes of one tensor of a model file (ONNX's Unsqueeze, Reshape)
MAX_INT = 2**53  # any size, channel count, option or intermediate figure: 9,007,199,254,740,992
MAX_DECIMALS = 30  # decimal places of a number given to compute (read exactly, as a fraction)
MAX_TENSOR_VALUES = 65_536  # numbers in one tensor given to compute, aliases expanded (a 256×256 matrix)
MAX_INT_DIGITS = 16  # decimal digits of MAX_INT: a longer integer is refused before it is converted
MAX_EXPLAINED = 10_000  # layers that --explain writes out
MAX_DRAWN = 10_000  # rows a graph (--format mermaid, dot) draws: more is not a picture anyone reads
MAX_MESSAGE = 300  # characters of one error line
MAX_TENSOR_WORK = 262_144  # values the statements of one --x/--w/--let may make in all: four 256×256 tensors
MAX_STAGES = 16  # operations one compute may chain with --then
