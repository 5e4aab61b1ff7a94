"""The condition language of AnalysisTemplate metrics (successCondition, failureCondition): Ramp's own parser and
evaluator of expr-lang's syntax, which upstream Argo Rollouts evaluates with github.com/expr-lang/expr.
Never Python's eval.

    compile_expression("len(result) > 0 && all(result, {# < 200})").evaluate({"result": [120, 180]})  # True
    evaluate_condition("result[0] >= 0.95", [0.97])  # True

Modules: `lexer` → `parser` (→ `syntax` tree) → `compiler` (closures over `scope`) using `operators`,
`functions`, `predicates` and `values`; `program` holds the public calls; `errors` the error types.
Used by the analysis assessment, which turns an ExpressionError into an Error measurement.
"""

from ramp.analysis.expression.errors import ExpressionError
from ramp.analysis.expression.program import Expression, compile_expression, evaluate, evaluate_condition

__all__ = ["Expression", "ExpressionError", "compile_expression", "evaluate", "evaluate_condition"]
