"""Two-stage LaTeX parsing for math-verify (speed only: every parse is the one it was).

math-verify reads LaTeX with latex2sympy2_extended, whose ANTLR parser predicts with ANTLR's
full LL mode; on the free-form answers of the dev set that prediction is most of the grader's
time. ANTLR's SLL mode is faster and, by ANTLR's own contract (the ``PredictionMode.SLL``
documentation), either returns the parse tree LL returns or reports a syntax error, which
latex2sympy turns into an exception. :func:`install` makes latex2sympy parse in SLL first and,
where that raises, parse again in LL: the result is LL's in every case.

latex2sympy2_extended builds its parser inside ``_Latex2Sympy`` and offers no option for the
mode, so :func:`install` wraps that class's ``create_parser`` and ``parse``; where a later
version lacks them it changes nothing (grading is then only slower).
"""

from __future__ import annotations

from typing import Any

_MARK = "_evalkit_two_stage"


def install() -> bool:
    """Parse SLL first, LL where SLL fails, in this process; whether it is in place."""
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from latex2sympy2_extended import latex2sympy2
    except ImportError:
        return False
    converter = getattr(latex2sympy2, "_Latex2Sympy", None)
    if converter is None or not all(hasattr(converter, m) for m in ("create_parser", "parse")):
        return False
    if getattr(converter, _MARK, False):
        return True
    create_parser, parse = converter.create_parser, converter.parse

    def create_sll_parser(self: Any, latex: str) -> Any:
        parser = create_parser(self, latex)
        if getattr(self, "_sll", False):
            parser._interp.predictionMode = PredictionMode.SLL
        return parser

    def parse_two_stage(self: Any, latex: str) -> Any:
        self._sll = True
        try:
            return parse(self, latex)
        except Exception:  # a syntax error in SLL may need LL's full context: parse again
            pass
        finally:
            self._sll = False
        return parse(self, latex)

    converter.create_parser = create_sll_parser
    converter.parse = parse_two_stage
    setattr(converter, _MARK, True)
    return True
