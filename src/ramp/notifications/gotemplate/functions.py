"""The function map templates run with: Go's builtins under sprig's text function map, as Argo Rollouts'
notifications engine builds it (`sprig.TxtFuncMap()` without `env` and `expandenv`).

Sprig functions Ramp does not provide (certificates, keys, passwords, AES, DNS lookups, the semver object,
URLs) are named in `UNSUPPORTED_SPRIG`, so a template using one is refused at parse time with a message that
says so.

Used by `ramp.notifications.gotemplate.compile_template` and the parser's function check.
"""

from __future__ import annotations

from typing import Final

from ramp.notifications.gotemplate.builtins import BUILTINS
from ramp.notifications.gotemplate.sprig_collections import COLLECTION_FUNCTIONS
from ramp.notifications.gotemplate.sprig_dates import DATE_FUNCTIONS
from ramp.notifications.gotemplate.sprig_defaults import DEFAULT_FUNCTIONS
from ramp.notifications.gotemplate.sprig_math import MATH_FUNCTIONS
from ramp.notifications.gotemplate.sprig_regex import REGEX_FUNCTIONS
from ramp.notifications.gotemplate.sprig_semver import SEMVER_FUNCTIONS
from ramp.notifications.gotemplate.sprig_strings import STRING_FUNCTIONS
from ramp.notifications.gotemplate.values import GoFunc

SPRIG_FUNCTIONS: Final[dict[str, GoFunc]] = {
    **STRING_FUNCTIONS,
    **MATH_FUNCTIONS,
    **COLLECTION_FUNCTIONS,
    **DEFAULT_FUNCTIONS,
    **REGEX_FUNCTIONS,
    **DATE_FUNCTIONS,
    **SEMVER_FUNCTIONS,
}
"""Sprig's functions Ramp provides, by name."""

# The must* forms of the list and dict functions: their failures are errors already.
for _name in [
    "merge",
    "mergeOverwrite",
    "deepCopy",
    "append",
    "push",
    "prepend",
    "first",
    "rest",
    "last",
    "initial",
    "reverse",
    "uniq",
    "without",
    "has",
    "slice",
    "chunk",
    "compact",
]:
    _must = "must" + _name[0].upper() + _name[1:]
    SPRIG_FUNCTIONS[_must] = GoFunc(
        _must, SPRIG_FUNCTIONS[_name].fn, SPRIG_FUNCTIONS[_name].params, SPRIG_FUNCTIONS[_name].variadic
    )

FUNCTIONS: Final[dict[str, GoFunc]] = {**BUILTINS, **SPRIG_FUNCTIONS}
"""Every function a template can call (sprig's names win over Go's builtins, as `Funcs` does: `slice`)."""

BUILTIN_NAMES: Final = frozenset(name for name in BUILTINS if name not in SPRIG_FUNCTIONS)
"""Names that run as Go's builtins (and/or short-circuit, call gets its callee's name)."""

UNSUPPORTED_SPRIG: Final = frozenset(
    {
        "bcrypt",
        "htpasswd",
        "genPrivateKey",
        "derivePassword",
        "buildCustomCert",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "encryptAES",
        "decryptAES",
        "randBytes",
        "getHostByName",
        "semver",
        "urlParse",
        "urlJoin",
        "osBase",
        "osClean",
        "osDir",
        "osExt",
        "osIsAbs",
    },
)
"""Sprig functions upstream has and Ramp does not: refused at parse time, named."""

REMOVED_BY_UPSTREAM: Final = frozenset({"env", "expandenv"})
"""Removed by Argo Rollouts' notifications engine: a template never reads the controller's environment."""
