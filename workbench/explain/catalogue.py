"""The cause catalogue: `catalogue.toml` loaded, checked and compiled once.

An entry per cause (`[[cause]]`): its code, title, severity, whether it is benign, the remedy,
public references, the log lines that show it (`[[cause.pattern]]`: literals for the prefilter,
a regular expression over the normalised line, a weight) and the facts that support it
(`[[cause.check]]`: a named check of `checks.py`, a weight, and whether the fact shows the cause
on its own). Lines that point to more than one cause are `[[ambiguous]]` entries: one pattern,
the candidate causes with their weights; the checks of each candidate rank them.

Regexes may use the macros of `MACROS` ({BDF}, {EACCES}, {ENOENT}, ...: an errno's words in
English and the common translations), and name groups after subject keys (`KEY_suffix` when an
alternation needs a key twice). Literals are compared after ASCII-only lowercasing, as the
prefilter compares them; a non-ASCII letter in a literal must be given in lower case."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from workbench.core.errors import ConfigError

SEVERITIES = ("info", "warn", "fail")
# Names a pattern's groups may use: they become the cause's subject. A group `KEY_suffix`
# gives KEY too (a regex may name a group once, an alternation may need it twice).
SUBJECT_KEYS = frozenset(
    {
        "bdf",
        "group",
        "vm",
        "path",
        "errno",
        "bar",
        "driver",
        "device",
        "uid",
        "limit",
        "size",
        "network",
    }
)
_BDF = r"(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]"
# The C library's words for an errno, in English and the common translations: libvirt and
# QEMU print strerror() in the user's locale. `\S{1,2}` stands for an accented letter (also
# when it arrives as two mojibake characters).
MACROS = {
    "{BDF}": _BDF,
    # a `mem size` of 16 MiB or more (hex, up to 16 digits)
    "{BIGSIZE}": r"0x0{0,9}[1-9a-f][0-9a-f]{6,15}",
    "{EACCES}": r"(?:Permission denied|Keine Berechtigung|Permission non accord\S{1,2}e"
    r"|Permiso denegado|Permesso negato|Permiss\S{1,2}o negada|Toegang geweigerd"
    r"|Brak dost\S{1,2}pu|Отказано в доступе|許可がありません|权限不够)",
    "{ENOENT}": r"(?:No such file(?: or directory)?|Datei oder Verzeichnis nicht gefunden"
    r"|Aucun fichier ou dossier de ce type|No existe el (?:archivo|fichero) o (?:el )?directorio"
    r"|File o directory non esistente|Arquivo ou diret\S{1,2}rio (?:inexistente|n\S{1,2}o encontrado)"
    r"|Нет такого файла или каталога)",
    "{ENOMEM}": r"(?:Cannot allocate memory|Nicht gen\S{1,2}gend Hauptspeicher verf\S{1,2}gbar"
    r"|Kann nicht genug Speicher belegen|Impossible d'allouer de la m\S{1,2}moire"
    r"|No se puede asignar memoria|Impossibile allocare memoria|Невозможно выделить память)",
    "{EBUSY}": r"(?:Device or resource busy|Das Ger\S{1,2}t oder die Ressource ist belegt"
    r"|P\S{1,2}riph\S{1,2}rique ou ressource occup\S{1,2}|Dispositivo o recurso ocupado"
    r"|Dispositivo o risorsa occupata|Устройство или ресурс занято)",
    "{EINVAL}": r"(?:Invalid argument|Das Argument ist ung\S{1,2}ltig|Ung\S{1,2}ltiges Argument"
    r"|Argument invalide|Argumento inv\S{1,2}lido|Argomento non valido|Недопустимый аргумент)",
    "{EPERM}": r"(?:Operation not permitted|Die Operation ist nicht erlaubt"
    r"|Vorgang nicht zul\S{1,2}ssig|Op\S{1,2}ration non permise|Operaci\S{1,2}n no permitida"
    r"|Operazione non permessa|Операция не позволена)",
}
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def ascii_lower(text: str) -> str:
    """Lowercase ASCII letters only: what the prefilter (bytes.lower, grep -i under LC_ALL=C)
    does to a line, so a literal is compared the same way."""
    return text.translate(_ASCII_LOWER)


def subject_key(group: str) -> str:
    """The subject key a regex group names (`bdf_2` -> `bdf`)."""
    return group.split("_", 1)[0]


def expand(regex: str) -> str:
    """A catalogue regex with its macros replaced."""
    for name, value in MACROS.items():
        regex = regex.replace(name, value)
    return regex


@dataclass(frozen=True)
class Pattern:
    """A line that shows one or more causes (with a weight each, 0..1)."""

    literals: tuple[str, ...]  # lowercase; the line holds at least one (the prefilter)
    regex: re.Pattern[str]  # searched in the normalised line
    causes: tuple[tuple[str, float], ...]
    ambiguous: bool = False


@dataclass(frozen=True)
class Check:
    """A fact check (a function of `checks.py`) that supports a cause."""

    name: str
    weight: float
    alone: bool  # the fact shows the cause even when no line does
    # the fact argues against the cause: its confidence is scaled by (1 - weight)
    against: bool = False
    # The fact shows the cause only where no line did (it adds nothing to lines that did), and
    # is a verdict only when the machine's own facts back it: shown by a log's words alone
    # (its driver lines), the cause is `suggestive` (the machine's facts decide).
    seed: bool = False


@dataclass(frozen=True)
class Cause:
    code: str
    title: str
    severity: str
    benign: bool
    remedy: str
    references: tuple[str, ...]
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Catalogue:
    causes: dict[str, Cause]
    patterns: tuple[Pattern, ...]
    # Every prefilter literal (lowercase) and the patterns it lets through.
    by_literal: dict[str, tuple[int, ...]]

    @property
    def literals(self) -> tuple[str, ...]:
        return tuple(self.by_literal)


def _bad(where: str, why: str) -> ConfigError:
    return ConfigError(f"cause catalogue: {where}: {why}", code="CATALOGUE_INVALID")


def _pattern(entry: dict[str, Any], causes: tuple[tuple[str, float], ...], where: str) -> Pattern:
    literals = entry.get("literals")
    if (
        not isinstance(literals, list)
        or not literals
        or not all(isinstance(lit, str) and len(lit.strip()) >= 3 for lit in literals)
    ):
        raise _bad(where, "literals must be a non-empty list of strings of 3 characters or more")
    for lit in literals:
        if any(not ch.isascii() and ch.lower() != ch for ch in lit):
            # the prefilter lowercases ASCII only: an uppercase non-ASCII letter never matches
            raise _bad(where, f"literal {lit!r}: give non-ASCII letters in lower case")
    try:
        source = expand(str(entry["regex"]))
        regex = re.compile(source, re.IGNORECASE if entry.get("icase", True) else 0)
    except (KeyError, re.error, TypeError) as exc:
        raise _bad(where, f"regex: {exc}") from None
    unknown = {subject_key(g) for g in regex.groupindex} - SUBJECT_KEYS
    if unknown:
        raise _bad(where, f"unknown subject keys {sorted(unknown)}")
    return Pattern(
        literals=tuple(ascii_lower(lit) for lit in literals),
        regex=regex,
        causes=causes,
        ambiguous=len(causes) > 1,
    )


def _weight(value: Any, where: str) -> float:
    if not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise _bad(where, f"weight must be in (0, 1], got {value!r}")
    return float(value)


def load(text: str) -> Catalogue:
    """The catalogue from TOML text; ConfigError (CATALOGUE_INVALID) when it is not valid."""
    from workbench.explain import checks as check_functions

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad("toml", str(exc)) from None
    causes: dict[str, Cause] = {}
    patterns: list[Pattern] = []
    for i, entry in enumerate(data.get("cause", [])):
        code = entry.get("code")
        where = f"cause {code or i}"
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]+", code):
            raise _bad(where, "code must be UPPER_SNAKE")
        if code in causes:
            raise _bad(where, "duplicate code")
        if entry.get("severity") not in SEVERITIES:
            raise _bad(where, f"severity must be one of {SEVERITIES}")
        checks = []
        for c in entry.get("check", []):
            name = c.get("name")
            if not callable(getattr(check_functions, str(name), None)):
                raise _bad(where, f"no check named {name!r} in checks.py")
            against = bool(c.get("against"))
            if against and c.get("alone"):
                raise _bad(where, f"check {name!r}: a fact against a cause cannot show it alone")
            seed = bool(c.get("seed"))
            if seed and (against or c.get("alone") is not None):
                raise _bad(where, f"check {name!r}: a seed shows its cause alone, for it")
            weight = _weight(c.get("weight"), where)
            checks.append(Check(name, weight, bool(c.get("alone")) or seed, against, seed))
        causes[code] = Cause(
            code=code,
            title=str(entry["title"]),
            severity=str(entry["severity"]),
            benign=bool(entry.get("benign", False)),
            remedy=str(entry["remedy"]),
            references=tuple(entry.get("references", ())),
            checks=tuple(checks),
        )
        for j, p in enumerate(entry.get("pattern", [])):
            weight = _weight(p.get("weight", 0.8), f"{where} pattern {j}")
            patterns.append(_pattern(p, ((code, weight),), f"{where} pattern {j}"))
    for i, entry in enumerate(data.get("ambiguous", [])):
        where = f"ambiguous {i}"
        candidates = entry.get("candidates")
        if not isinstance(candidates, dict) or len(candidates) < 2:
            raise _bad(where, "candidates must name two causes or more")
        for code in candidates:
            if code not in causes:
                raise _bad(where, f"candidate {code} has no [[cause]] entry")
        weighted = tuple((code, _weight(w, where)) for code, w in candidates.items())
        patterns.append(_pattern(entry, weighted, where))
    by_literal: dict[str, list[int]] = {}
    for index, pattern in enumerate(patterns):
        for lit in pattern.literals:
            by_literal.setdefault(lit, []).append(index)
    return Catalogue(causes, tuple(patterns), {k: tuple(v) for k, v in by_literal.items()})


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped in the package."""
    text = resources.files("workbench.explain").joinpath("catalogue.toml").read_text("utf-8")
    return load(text)
