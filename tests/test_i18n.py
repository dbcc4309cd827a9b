"""Chinese output: every message translated with the notes' terms, the language chosen as the
locale says, and every command rendered in Chinese with no English term left and tables aligned."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import catalog  # noqa: E402  (tests/catalog.py: the catalog's own maintenance script)

from convcalc.render import i18n  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIELD = re.compile(r"\{([^{}]*)\}")


def fields(text: str) -> list[str]:
    return sorted(FIELD.findall(text.replace("{{", "").replace("}}", "")))


@pytest.fixture(scope="module")
def po():
    return {m.id: m.string for m in catalog.read() if m.id}


def test_every_message_has_a_chinese_translation(po):
    missing = [m for m in catalog.own_messages() if not po.get(m)]
    assert not missing, f"untranslated (run python tests/catalog.py, then translate): {missing[:5]}"


def test_the_compiled_catalog_is_the_po_file_compiled():
    assert catalog.MO.read_bytes() == catalog.compiled(catalog.read()), "run python tests/catalog.py"


def test_translations_keep_every_value(po):
    wrong = [(k, v) for k, v in po.items() if v and fields(k) != fields(v)]
    assert not wrong, wrong[:3]


def test_messages_are_templates_not_formatted_strings():
    """A message formatted before `_` sees it cannot be found in the catalog: every `_()` takes a
    literal, and no error or `fail` is given an f-string."""
    offenders = []
    for path in (ROOT / "convcalc").rglob("*.py"):
        if path.name == "i18n.py":  # translates the help texts typer gathered, which the catalog script lists
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[2] if name == "fail" and isinstance(node.func, ast.Attribute) and len(node.args) > 2 else node.args[0]
            if name in ("_", "N_", "Note") and not (isinstance(first, ast.Constant) or isinstance(node.func, ast.Attribute)):
                # _(TABLE[key]) of N_ entries; Note(template) re-made from a Note's own template or an N_ table's entry
                if not (isinstance(first, (ast.Subscript, ast.Name)) and name == "_"
                        or isinstance(first, (ast.Name, ast.Attribute)) and name == "Note"):
                    offenders.append(f"{path.name}:{node.lineno}")
            if name in ("ConvcalcError", "SpecError", "fail") and isinstance(first, ast.JoinedStr):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def glossary() -> list[tuple[str, str, str]]:
    rows = []
    for line in (ROOT / "convcalc/render/locale/glossary.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0] not in ("English", "---"):
            rows.append(tuple(cells))
    return rows


def term_pattern(english: str) -> re.Pattern:
    return re.compile(r"(?<![\w-])" + re.escape(english) + r"(?![\w-])", re.IGNORECASE)


def prose(message: str) -> str:
    """A message without what is not prose: its {values} and a leading option or key name."""
    return re.sub(r"^[\w.\[\]-]+(: |：)", "", FIELD.sub(" ", message))


def test_the_glossary_lists_the_notes_terms():
    chinese = {zh for _, zh, _ in glossary()}
    for term in ("感受野", "步幅", "填充", "卷积核", "分组卷积", "转置卷积", "参数量", "浮点运算量", "乘加运算", "特征图",
                 "输入通道", "输出通道", "全连接层", "批量归一化", "缓冲区", "激活值内存", "窄卷积", "宽卷积", "等宽卷积", "连接数"):
        assert any(term in zh for zh in chinese), term
    assert any("膨胀率" in zh and "空洞卷积" in zh for zh in chinese)
    assert any("池化" in zh and "汇聚" in zh for zh in chinese)


@pytest.mark.parametrize("english, chinese, check", [row for row in glossary() if row[2]])
def test_translations_follow_the_glossary(po, english, chinese, check):
    pattern = term_pattern(english)
    wrong = [(k, v) for k, v in po.items() if pattern.search(prose(k)) and check not in v]
    assert not wrong, wrong[:3]


# --- choosing the language ------------------------------------------------------------------

@pytest.mark.parametrize("argv, environ, expected", [
    ([], {}, "en"),
    ([], {"LANG": "zh_CN.UTF-8"}, "zh"),
    ([], {"LANG": "en_US.UTF-8"}, "en"),
    ([], {"LANG": "C"}, "en"),
    ([], {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ([], {"LC_MESSAGES": "zh_CN", "LANG": "en_US"}, "zh"),
    ([], {"LANGUAGE": "en:zh", "LC_ALL": "zh_CN"}, "en"),  # gettext's order: LANGUAGE first
    ([], {"LANGUAGE": "zh_CN:en", "LANG": "C"}, "zh"),
    ([], {"CONVCALC_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    ([], {"CONVCALC_LANG": "zh", "LANG": "C"}, "zh"),
    ([], {"CONVCALC_LANG": "", "LANG": "zh_CN"}, "zh"),  # set but empty: as if unset
    (["layer", "--lang", "zh"], {"CONVCALC_LANG": "en"}, "zh"),
    (["layer", "--lang=en"], {"LANG": "zh_CN"}, "en"),
    (["net", "-", "--", "--lang", "zh"], {}, "en"),  # after --, not an option
])
def test_language_choice(argv, environ, expected):
    assert i18n.choose(argv, environ) == expected


@pytest.mark.parametrize("argv, environ", [(["--lang", "fr"], {}), (["--lang"], {}), ([], {"CONVCALC_LANG": "de"})])
def test_unknown_language_is_refused(argv, environ):
    with pytest.raises(i18n.LanguageError):
        i18n.choose(argv, environ)


# --- every command in Chinese ---------------------------------------------------------------

def convcalc(*args: str, stdin: str | None = None, language: str | None = "zh", **env: str):
    environ = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES + ("CONVCALC_LANG",)}
    environ.update(env, COLUMNS="120", PYTHONIOENCODING="utf-8")
    if language:
        args = (*args, "--lang", language)
    return subprocess.run([sys.executable, "-m", "convcalc", *args], input=stdin, capture_output=True, text=True,
                          env=environ, timeout=60)


MLP = "input: [10]\nlayers:\n  - linear: {out: 128}\n  - relu\n  - linear: {out: 5}\n"

CHINESE_RUNS = {
    "help_export": (["export", "--help"], None, 0),
    "export_error": (["export", "vgg11", "--to", "torch", "-o", "/nonexistent/x.py"], None, 1),
    "net_count": (["net", "alexnet", "--count", "calflops", "--depth", "0"], None, 0),
    "net_count_markdown": (["net", "alexnet", "--count", "fvcore-train", "-f", "markdown"], None, 0),
    "layer": (["layer", "--in", "10", "--k", "5", "--p", "1", "--s", "2", "--explain", "--draw"], None, 0),
    "layer_d2l": (["layer", "--in", "8", "--k", "3", "--p-total", "2", "--explain"], None, 0),
    "layer_nndl": (["layer", "--in", "8", "--k", "3", "--p", "wide", "--explain"], None, 0),
    "layer_same_strided": (["layer", "--in", "8", "--k", "3", "--p", "same", "--s", "2", "--explain"], None, 0),
    "layer_convT": (["layer", "--op", "convT", "--in", "4", "--k", "3", "--s", "2", "--explain"], None, 0),
    "layer_ceil": (["layer", "--op", "maxpool", "--in", "7", "--k", "3", "--s", "2", "--ceil", "--explain"], None, 0),
    "layer_batchnorm": (["layer", "--op", "batchnorm", "--cin", "8", "--in", "4", "--explain"], None, 0),
    "net_collapsed": (["net", "resnet50"], None, 0),
    "net_memory": (["net", "lenet5", "--device", "a100", "--optimizer", "sgd", "--amp", "bf16", "--explain"], None, 0),
    "net_branches": (["net", "googlenet", "--explain"], None, 0),
    "layer_markdown": (["layer", "--in", "8", "--k", "3", "--format", "markdown"], None, 0),
    "net_lenet": (["net", "lenet5", "--connections", "--explain"], None, 0),
    "compare": (["compare", "layer --in 56 --cin 32 --cout 64 --k 3 --p 1", "separable", "--input", "32x56x56", "--explain"], None, 0),
    "compare_markdown": (["compare", "resnet18", "resnet34", "-f", "markdown"], None, 0),
    "compare_error": (["compare", "resnet18"], None, 2),
    "help_compare": (["compare", "--help"], None, 0),
    "compute_statements": (["compute", "--x", "X = torch.ones((6, 8)); X[:, 2:6] = 0", "--w", "[[1, -1]]", "--then", "maxpool --k 2",
                            "--explain"], None, 0),
    "compute_flip": (["compute", "--x", "[[1, 2], [3, 4]]", "--w", "[[1, 0], [0, -1]]", "--flip", "--explain"], None, 0),
    "net_mul_add": (["net", "lenet5", "--count", "mul-add", "--depth", "0"], None, 0),
    "net_blocks": (["net", "inverted_residual", "--input", "16x112x112", "--set", "c=24", "--set", "s=2"], None, 0),
    "net_subtotal": (["net", "vgg_block", "--set", "num_convs=3", "--set", "out_channels=64", "--input", "3x32x32"], None, 0),
    "compute_statement_error": (["compute", "--x", "torch.randn(3)", "--w", "[[1]]"], None, 2),
    "net_vgg16": (["net", "vgg16"], None, 0),
    "net_resnet_markdown": (["net", "resnet18", "--format", "markdown"], None, 0),
    "net_stdin": (["net", "-", "--explain"], MLP, 0),
    "zoo": (["zoo"], None, 0),
    "compute": (["compute", "--x", "[[0,1,2],[3,4,5],[6,7,8]]", "--w", "[[0,1],[2,3]]", "--explain", "--draw"], None, 0),
    "compute_convT": (["compute", "--op", "convT", "--x", "[[1,2],[3,4]]", "--w", "[[0,1],[2,3]]", "--s", "2", "--explain"], None, 0),
    "compute_avgpool": (["compute", "--op", "avgpool", "--x", "[[1,2],[3,4]]", "--k", "2", "--p", "1", "--s", "2"], None, 0),
    "compute_symbolic": (["compute", "--symbolic", "--in", "3x3", "--w", "[[1,2],[3,4]]"], None, 0),
    "solve": (["solve", "--in", "224", "--out", "224", "--k", "3", "--p", "?", "--explain"], None, 0),
    "solve_layers": (["solve", "--k", "3", "--rf", "224", "--layers", "?", "--explain"], None, 0),
    "solve_too_small": (["solve", "--in", "224", "--k", "3", "--rf", "224", "--layers", "?"], None, 1),  # no solution: 1
    "solve_none": (["solve", "--in", "10", "--k", "3", "--s", "2", "--out", "7", "--p", "?"], None, 1),
    "help": (["--help"], None, 0),
    **{f"help_{c}": ([c, "--help"], None, 0) for c in ("layer", "net", "zoo", "compute", "solve")},
    "error_value": (["layer", "--in", "5", "--k", "0"], None, 1),
    "error_usage": (["layer", "--bogus"], None, 2),
    "error_choice": (["layer", "--op", "pool"], None, 2),
    "error_spec": (["net", "-"], "input: [3, 8, 8]\nlayers:\n  - conv: {c: 4, k: 9}\n", 1),
    "error_file": (["net", "no/such/file.yaml"], None, 1),
}

# English words that say a sentence was left untranslated (the glossary's terms, and the words
# every table, footer and parser message would carry)
ENGLISH = [english for english, _, check in glossary() if check] + [
    "Usage", "Options", "Commands", "Show this message", "default", "required", "Error", "got", "must", "layer",
    "input", "output", "shape", "warning", "total", "share", "solution", "unknown", "memory", "Example", "every"]


def leftover_english(text: str) -> list[str]:
    # what stays English by design: the network's own names and kinds, option names, symbols
    text = re.sub(r"\boutput(?= +(linear|全连接层)|\s\((linear|全连接层)\))", " ", text)  # LeNet-5's last layer is named output
    text = re.sub(r"(?m)^  (layer|net|zoo|compute|solve) |`layer`", " ", text)  # command names
    text = re.sub(r"<[\w|-]+>|\[默认：[\w.-]+\]", " ", text)  # an option's choices and default are values typed as they are
    text = re.sub(r"\b[a-z_]+(?:,[a-z_]+)+,?", " ", text)  # a list of values typed as they are: shape,params,rf
    text = re.sub(r"--[\w-]+(?:[ =](?!--)[A-Za-z0-9_.,=/:?×-]+(?![\u4e00-\u9fff]))?|convcalc \w+|\b\w+\.yaml\b|\b\w+=(\w+|'[^']*')|'[^']*'", " ", text)  # code: p='same', ceil_mode=True
    for kind in ("conv", "convT", "maxpool", "avgpool", "linear", "flatten", "relu", "tanh", "subsample", "batchnorm",
                 "global_avgpool", "adaptive_avgpool", "add", "concat"):
        text = re.sub(rf"\b{kind}\b", " ", text)
    return [w for w in ENGLISH if term_pattern(w).search(text)]


def english_fragments(text: str) -> list[str]:
    """Runs of two or more English words in Chinese output, once what stays English by design is
    taken out: commands, options with their values, quoted code, the bundled networks' titles."""
    from convcalc.formats.spec import load
    from convcalc.formats.zoo import bundled

    for title in sorted((load(path).name for path in bundled()), key=len, reverse=True):
        text = text.replace(title, " ")
    text = re.sub(r"convcalc( [a-z]+)?|pip install \S+|'[^']*'|`[^`]*`", " ", text)
    text = re.sub(r"--[\w-]+(?:[ =](?!--)[A-Za-z0-9_.,=/:?×-]+)?", " ", text)
    return re.findall(r"\b[A-Za-z]{3,}(?: [A-Za-z]{3,})+\b", text)


def ascii_punctuation(text: str) -> list[str]:
    """An ASCII comma, colon or semicolon written against Chinese (the notes write ，：；), outside
    a formula such as max(2·乘加运算/峰值, 字节数/带宽) and a syntax such as 峰值FLOPS,带宽."""
    text = re.sub(r"max\([^)]*\)|\w*FLOPS,\w*", " ", text)
    return re.findall(r".{0,12}(?:[\u4e00-\u9fff][,;:]|[,;:] ?[\u4e00-\u9fff]).{0,12}", text)


@pytest.mark.parametrize("name", CHINESE_RUNS)
def test_every_command_renders_in_chinese(name):
    args, stdin, code = CHINESE_RUNS[name]
    result = convcalc(*args, stdin=stdin)
    assert result.returncode == code, result.stderr
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert leftover_english(text) == [], (leftover_english(text), text[:2000])
    assert english_fragments(text) == [], text[:2000]
    assert ascii_punctuation(text) == [], text[:2000]
    if code and not name.startswith("solve_"):  # solve's "no solution" is an answer on stdout, its status 1
        assert result.stderr.startswith("错误：") and result.stderr.count("\n") == 1 and result.stdout == ""


def test_chinese_is_not_the_default():
    result = convcalc("layer", "--in", "10", "--k", "3", language=None, LANG="C")
    assert "output shape" in result.stdout and not re.search(r"[\u4e00-\u9fff]", result.stdout)
    assert re.search(r"[\u4e00-\u9fff]", convcalc("layer", "--in", "10", "--k", "3", language=None, LANG="zh_CN.UTF-8").stdout)


@pytest.mark.parametrize("args", [("net", "lenet5", "--format", "json"), ("net", "resnet50", "--format", "json"),
                                  ("layer", "--in", "10", "--k", "5", "--p", "1", "--s", "2", "--format", "json"),
                                  ("layer", "--out", "64", "--k", "5", "--cin", "100", "--format", "json"),
                                  ("net", "lenet5", "--format", "csv"),
                                  ("compare", "resnet18", "separable", "--input", "3x56x56", "--format", "json"),
                                  ("net", "lenet5", "--count", "mul-add", "--format", "json"),
                                  ("solve", "--in", "10", "--k", "3", "--s", "2", "--out", "7", "--p", "?", "--format", "json")])
def test_machine_readable_output_is_identical_in_both_languages(args):
    """JSON and CSV are a contract: resnet50's warnings (strides that leave rows unread) stay English under --lang zh."""
    zh = convcalc(*args)
    en = convcalc(*args, language="en")
    assert zh.returncode == en.returncode and zh.stdout == en.stdout and zh.returncode in (0, 1)  # 1: solve found none
    if "resnet50" in args:
        assert "is not divisible by S = 2" in zh.stdout


def test_the_library_speaks_english_whatever_language_was_installed():
    """A notebook that once chose Chinese: results and errors are Notes whose text is English; `say` gives the
    installed language, at the edge."""
    from convcalc import Conv, ConvcalcError, single_layer
    from convcalc.core.messages import say

    i18n.install("zh")
    try:
        report = single_layer(Conv(out_channels=1, kernel=5, padding=1, stride=2), (1, 10, 10))
        (warning,) = report.warnings
        assert "is not divisible by S = 2" in warning and "不能被 S = 2 整除" in say(warning)
        with pytest.raises(ConvcalcError, match="k: must be a positive integer, got 0") as caught:
            single_layer(Conv(out_channels=1, kernel=0), (1, 10, 10))
        assert caught.value.where == "k" and say(caught.value) == "k：必须是正整数，实际为 0"
    finally:
        i18n.install("en")
    assert say(warning) == warning


def test_the_table_lines_up_with_wide_characters():
    """Each right-aligned figure ends in the same terminal column as its Chinese header."""
    from rich.cells import cell_len

    lines = convcalc("net", "lenet5").stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "参数量" in line and "层" in line)
    end = cell_len(lines[header][: lines[header].index("参数量") + len("参数量")])
    rows = [line for line in lines[header + 2:] if line.strip() and not line.startswith("浮点")][:8]
    assert len(rows) == 8
    for row, params in zip(rows, ("156", "12", "1,516", "32", "48,120", "0", "10,164", "850")):
        # LeNet-5's parameters: C1 6·(1·5·5 + 1), S2 2·6, C3 from the notes' table, S4 2·16, C5 120·(16·25 + 1), …
        match = re.search(rf"\s{re.escape(params)}\s", row)
        assert match and cell_len(row[: match.start() + 1 + len(params)]) == end, (row, end)
    assert 6 * (1 * 5 * 5 + 1) == 156 and 120 * (16 * 25 + 1) == 48_120 and 84 * (120 + 1) == 10_164


def test_the_notes_terms_appear_where_the_notes_use_them():
    text = convcalc("net", "lenet5", "--connections", "--explain").stdout
    for term in ("感受野", "参数量", "浮点运算量", "乘加运算", "连接数", "缓冲区", "激活值内存", "局部感受野"):
        assert term in text, term
    assert "宽卷积" in convcalc("layer", "--in", "8", "--k", "3", "--p", "wide", "--explain").stdout
    assert "122,304" in text  # C1's connections, as the notes give them


def readme_chinese_commands() -> list[str]:
    text = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    block = text.split("常用命令", 1)[1].split("```", 2)[1]
    return [line.split("  #")[0].strip() for line in block.splitlines() if "convcalc" in line]


@pytest.mark.parametrize("line", readme_chinese_commands())
def test_the_readme_chinese_commands_run(line):
    import shlex

    command = line.replace("convcalc ", f"{shlex.quote(sys.executable)} -m convcalc ")
    environ = {k: v for k, v in os.environ.items() if k not in i18n.LOCALE_VARIABLES + ("CONVCALC_LANG",)}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60,
                          env={**environ, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert re.search(r"[\u4e00-\u9fff]", done.stdout)


@pytest.mark.parametrize("args", [
    ("layer", "--op", "convT", "--in", "4", "--k", "3", "--s", "2", "--explain", "all"),
    ("layer", "--in", "32", "--k", "3", "--p", "1", "--s", "2", "--explain", "all"),
    ("net", "lenet5", "--explain", "params,macs,rf"),
])
def test_no_english_word_inside_a_chinese_formula(args):
    """The notes' symbols only (r, j, c, w, σ, δ, n_o, b — each named under the working), no English word."""
    text = convcalc(*args).stdout
    for word in ("start", "inputs(o)", "offset", "·step", "·bias", "累积步幅", "起始中心"):
        assert word not in text.replace("英文教程记作 start", ""), word
    symbols = "".join(line.strip() for line in text[text.rindex("符号："):].splitlines())
    assert "j 相邻特征间距" in symbols
