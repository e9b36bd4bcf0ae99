"""One number style for the report: powers of ten, Greek symbols, no line break before ``%``.

The report's text and tables are Markdown written by many functions; the export runs every piece
of it through :func:`typeset_markdown` so that the PDF and the HTML follow one style whatever
each function wrote:

- a number in e-notation (``1e-05``, ``5.9e-8``) becomes a power of ten in LaTeX maths
  (``$10^{-5}$``, ``$5.9 \\times 10^{-8}$``), the form :func:`fmt_power` writes;
- a decimal below 0.01 (``0.001``, ``0.00346``; not ``0.00``) becomes a power of ten too, so that
  ``between 1e-5 and 0.001`` reads ``between $10^{-5}$ and $10^{-3}$``;
- ``lambda``, ``sigma``, ``eta`` or ``epsilon`` followed by a number becomes the symbol, ``=`` and
  the number as a power of ten (``lambda 0.0001`` -> ``$\\lambda$ = $10^{-4}$``);
- in a pipe table, the words ``lambda``, ``sigma``, ``gamma``, ``beta``, ``eta`` and ``epsilon``
  of the header row (and cells that are only one of those words) become symbols, and the plain
  decimals of a λ, σ or η column become powers of ten;
- the space before ``%`` and those around ``±`` between numbers become non-breaking, so that
  ``83 %`` and ``53.37 ± 0.24`` never break over a line;
- a hyphen that is the sign of a number (``-0.64``, not ``3-layer`` or ``2026-11-29``) becomes
  a minus sign (``−0.64``).

Code spans, mathematics and link targets are left as they are.
"""

from __future__ import annotations

import math
import re

NBSP = "\u00a0"
#: Greek parameter names as the report's code writes them, and their LaTeX symbols
SYMBOLS = {"lambda": r"\lambda", "sigma": r"\sigma", "gamma": r"\gamma", "beta": r"\beta", "eta": r"\eta",
           "epsilon": r"\epsilon"}  # fmt: skip
#: table columns whose plain decimals are scale parameters, written as powers of ten
POWER_COLUMNS = ("lambda", "sigma", "eta")

# a span that is left alone: inline code, display or inline maths, a link target, an HTML tag
_PROTECTED = re.compile(r"(`+)[^`]*?\1|\$\$.+?\$\$|\$[^$\n]+?\$|\]\([^)]*\)|<[^>\n]+>", re.S)
_E_NUMBER = r"\d+(?:\.\d+)?[eE][+-]?\d+"
# e-notation as Python prints it, with a signed exponent (1e-05, 2.5e+03): a short git hash such as 396e179
# is a word, not a number
_E_NOTATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]\d{1,3}(?![\w]|\.\d)")
_SMALL_DECIMAL = re.compile(r"(?<![\w.])0\.00\d*[1-9]\d*(?![\w]|\.\d)")
_NUMBER = rf"(?:{_E_NUMBER}|\d+(?:\.\d+)?)"
_GREEK_VALUE = re.compile(rf"\b(lambda|sigma|eta|epsilon)(\s+=)?\s+({_NUMBER})(?![\w]|\.\d)")
_GREEK_WORD = re.compile(r"\b(lambda|sigma|gamma|beta|eta|epsilon)\b")
_PERCENT = re.compile(r"(\d) (%)")
_PLUS_MINUS = re.compile(r"(\d) ± (?=\d)")
_SIGN = re.compile(r"(?<![\w.\-])-(?=\d)")
MINUS = "\u2212"
_DECIMAL = re.compile(r"^\s*\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$")


def fmt_power(value: float | None, digits: int = 3) -> str:
    """``value`` as a power of ten in LaTeX maths, ``digits`` significant digits at most; ``-`` for None/NaN.

    ``1e-05`` -> ``$10^{-5}$``, ``0.00346`` -> ``$3.46 \\times 10^{-3}$``, ``0.1`` -> ``$10^{-1}$``,
    ``2.5`` -> ``$2.5$``. The report writes λ, σ, η, ε and relative errors this way.
    """
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "$0$"
    mantissa, exponent = f"{value:.{max(digits, 1) - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    if power == 0:
        return f"${mantissa}$"
    if mantissa in ("1", "-1"):
        return f"${'-' if mantissa == '-1' else ''}10^{{{power}}}$"
    return f"${mantissa} \\times 10^{{{power}}}$"


def _power_of_written(text: str) -> str:
    """A number as written (``5.90e-08``, ``0.00346``) as a power of ten, keeping the digits it was written with."""
    if "e" not in text.lower():
        digits = text.replace(".", "").lstrip("0").rstrip("0")
        return fmt_power(float(text), max(1, len(digits)))
    mantissa, exponent = re.split(r"[eE]", text)
    power = int(exponent)
    if float(mantissa) == 0:
        return "$0$"
    if power == 0:
        return f"${mantissa}$"
    if float(mantissa) == 1 and mantissa.rstrip("0").rstrip(".") == "1":
        return f"$10^{{{power}}}$"
    return f"${mantissa} \\times 10^{{{power}}}$"


def typeset_markdown(markdown: str) -> str:
    """``markdown`` in the report's number style (see the module docstring)."""
    lines, out, table = markdown.split("\n"), [], []
    for line in lines + [""]:
        if line.lstrip().startswith("|"):
            table.append(line)
            continue
        if table:
            out.extend(_typeset_table(table))
            table = []
        out.append(line)
    return _outside_protected("\n".join(out[:-1]), _typeset_prose)


def _outside_protected(text: str, change) -> str:
    pieces, last = [], 0
    for match in _PROTECTED.finditer(text):
        pieces.append(change(text[last : match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(change(text[last:]))
    return "".join(pieces)


def _typeset_prose(text: str) -> str:
    text = _SIGN.sub(MINUS, text)  # first: the maths written below has its own signs
    text = _GREEK_VALUE.sub(lambda m: f"${SYMBOLS[m.group(1)]}$ = {_power_of_written(m.group(3))}", text)
    text = _E_NOTATION.sub(lambda m: _power_of_written(m.group(0)), text)
    text = _SMALL_DECIMAL.sub(lambda m: _power_of_written(m.group(0)), text)
    text = _PERCENT.sub(rf"\1{NBSP}\2", text)
    return _PLUS_MINUS.sub(rf"\1{NBSP}±{NBSP}", text)


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return re.split(r"(?<!\\)\|", inner)


def _typeset_table(lines: list[str]) -> list[str]:
    """A pipe table's header words as symbols and its λ, σ, η columns' decimals as powers of ten."""
    if len(lines) < 2:
        return lines
    header = _cells(lines[0])
    power = [any(re.search(rf"\b{name}\b", cell) for name in POWER_COLUMNS) for cell in header]
    result = ["| " + " | ".join(_outside_protected(c.strip(), _symbol_words) for c in header) + " |", lines[1]]
    for line in lines[2:]:
        cells = []
        for j, cell in enumerate(_cells(line)):
            text = cell.strip()
            if j < len(power) and power[j] and _DECIMAL.match(text):
                text = _power_of_written(text)
            elif text in SYMBOLS:
                text = f"${SYMBOLS[text]}$"
            cells.append(text)
        result.append("| " + " | ".join(cells) + " |")
    return result


def _symbol_words(text: str) -> str:
    return _GREEK_WORD.sub(lambda m: f"${SYMBOLS[m.group(1)]}$", text)


_UNICODE = {r"\lambda": "λ", r"\sigma": "σ", r"\gamma": "γ", r"\beta": "β", r"\eta": "η", r"\epsilon": "ε",
            r"\alpha": "α", r"\mu": "μ", r"\times": "×", r"\pm": "±", r"\cdot": "·", r"\leq": "≤", r"\geq": "≥"}  # fmt: skip
_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def plain_text(markdown: str) -> str:
    """A one-line Markdown text (a caption) as plain text, e.g. for an image's alt text.

    Emphasis, code marks and link targets are dropped; simple maths becomes Unicode
    (``$\\lambda$`` -> ``λ``, ``$3 \\times 10^{-5}$`` -> ``3 × 10⁻⁵``).
    """

    def maths(match: re.Match) -> str:
        tex = match.group(1)
        tex = re.sub(r"\^\{([-+\d]+)\}|\^([-+\d])", lambda m: (m.group(1) or m.group(2)).translate(_SUPERSCRIPT), tex)
        for command, char in _UNICODE.items():
            tex = tex.replace(command, char)
        tex = re.sub(r"\\[A-Za-z]+", "", tex)
        return re.sub(r"\s+", " ", tex.replace("{", "").replace("}", "")).strip()

    text = re.sub(r"\$([^$]+)\$", maths, markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[*_`]+", "", text)
    return re.sub(r"\s+", " ", text).strip()
