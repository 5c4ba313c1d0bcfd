"""The ``peakline`` command's conventions in one place: value checks, the parser, help, --db.

Every option that takes a value declares a :class:`Check` as its argparse ``type=``. A check
turns the text into a value or says, in the user's words, what is wrong with it; argparse
puts the option in front (``argument --service-level: must be greater than 0 and less than 1,
got 90``). :class:`Parser` prints every refusal as ONE line, ``peakline plant plan: error:
...``, and exits with status 2; :class:`HelpFormatter` shows each option's valid range and
default. Checks that can only be made once a command runs (a database file that must exist)
raise :class:`peakline.errors.PeaklineError`, which ``peakline`` prints the same way.

Each check also gives bad examples of itself (:meth:`Check.bad_examples`):
``tests/peakline/test_cli_bad_values.py`` feeds them to every option of every command, so an
option added without a check, or with one that lets nonsense through, fails that test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "DB_ENV",
    "DEFAULT_DB",
    "Check",
    "Country",
    "DbUrl",
    "ExistingDir",
    "ExistingFile",
    "HelpFormatter",
    "IntList",
    "IsoDate",
    "LazyChoices",
    "Number",
    "OutputDir",
    "OutputFile",
    "Parser",
    "Text",
    "db_default",
    "prog",
    "warn",
]

#: the database every plant command uses when neither --db nor $PEAKLINE_DB names one
DEFAULT_DB = "sqlite:///peakline.db"
#: the environment variable that names the database instead of ``--db``
DB_ENV = "PEAKLINE_DB"


def db_default() -> str:
    """``$PEAKLINE_DB`` when set, else :data:`DEFAULT_DB` (read when the parser is built)."""
    return os.environ.get(DB_ENV, "").strip() or DEFAULT_DB


def prog(args: argparse.Namespace) -> str:
    """``peakline plant plan``: the command the user typed (set on every leaf parser)."""
    return str(getattr(args, "_prog", "peakline"))


def warn(args: argparse.Namespace, message: str) -> None:
    """One ``peakline <cmd>: warning: ...`` line on stderr; the command goes on."""
    print(f"{prog(args)}: warning: {message}", file=sys.stderr)


def _refuse(message: str) -> NoReturn:
    raise argparse.ArgumentTypeError(message)


class Check:
    """An argparse ``type=``: converts one option value or refuses it in plain words."""

    def __call__(self, text: str) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        """What the option accepts, for ``--help`` ('' when the help text says it already)."""
        return ""

    def bad_examples(self, scratch: Path) -> list[str]:
        """Values this check refuses (``scratch``: an empty folder to make examples in)."""
        raise NotImplementedError


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Number(Check):
    """A finite number (or a whole number) within bounds; ``hint`` explains a likely mix-up."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    multiple_of: int | None = None
    hint: str = ""

    def __call__(self, text: str) -> float | int:
        value: float | int
        try:
            value = int(text.strip()) if self.integer else float(text.strip())
        except ValueError:
            _refuse(f"must be a {'whole number' if self.integer else 'number'}, got {text!r}")
        if not math.isfinite(value):
            _refuse(f"must be a finite number, got {text!r}")
        hint = f" ({self.hint})" if self.hint else ""
        if not self._inside(value) or (self.multiple_of and value % self.multiple_of):
            _refuse(f"must be {self.rule()}, got {text.strip()}{hint}")
        return value

    def _inside(self, value: float) -> bool:
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else
                                             value > self.hi))

    def describe(self) -> str:
        return self.rule(words=False)

    def rule(self, *, words: bool = True) -> str:
        """The bounds in words (for errors) or in symbols (for ``--help``)."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None and not (self.lo_open or self.hi_open):
            text = f"from {_num(lo)} to {_num(hi)}" if words else f"{_num(lo)} to {_num(hi)}"
        else:
            ops = {(True, True): "greater than", (True, False): "at least",
                   (False, True): "less than", (False, False): "at most"}
            signs = {(True, True): ">", (True, False): ">=", (False, True): "<",
                     (False, False): "<="}
            parts = [f"{(ops if words else signs)[(low, is_open)]} {_num(bound)}"
                     for low, bound, is_open in ((True, lo, self.lo_open),
                                                 (False, hi, self.hi_open))
                     if bound is not None]
            text = " and ".join(parts)
        if self.integer and words:
            text = f"a whole number {text}".strip()
        elif self.integer and not text:
            text = "a whole number"
        if self.multiple_of:
            text += f", a multiple of {self.multiple_of}"
        return text or ("a number" if words else "")

    def bad_examples(self, scratch: Path) -> list[str]:
        out = ["abc", "nan"]
        step = 1 if self.integer else 0.5
        if self.integer:
            out.append("1.5")
        if self.lo is not None:
            out.append(_num(self.lo if self.lo_open else self.lo - step))
        if self.hi is not None:
            out.append(_num(self.hi if self.hi_open else self.hi + step))
        if self.multiple_of:
            out.append(str((self.lo or 0) + self.multiple_of + 1))
        return out


def integer(lo: int | None = None, hi: int | None = None, **kw: Any) -> Number:
    """A whole number in ``[lo, hi]``."""
    return Number(lo=lo, hi=hi, integer=True, **kw)


@dataclass(frozen=True)
class IntList(Check):
    """Comma-separated whole numbers, each within ``item`` (``21,14``); ``count`` of them
    when given, and ``ordered`` (non-decreasing) when asked."""

    item: Number
    count: int | None = None
    ordered: bool = False

    def __call__(self, text: str) -> tuple[int, ...]:
        parts = [p.strip() for p in text.split(",")]
        if not text.strip() or any(not p for p in parts):
            _refuse(f"must be comma-separated whole numbers, got {text!r}")
        if self.count is not None and len(parts) != self.count:
            _refuse(f"must be {self.count} comma-separated whole numbers, got {text!r}")
        values = []
        for part in parts:
            try:
                values.append(int(self.item(part)))
            except argparse.ArgumentTypeError as exc:
                _refuse(f"each value {exc}")
        if self.ordered and values != sorted(values):
            _refuse(f"must be in increasing order, got {text!r}")
        return tuple(values)

    def describe(self) -> str:
        return f"comma-separated, each {self.item.describe()}"

    def bad_examples(self, scratch: Path) -> list[str]:
        out = ["", "21,", "a,b", *self.item.bad_examples(scratch)[:3]]
        if self.count is not None:
            out.append(",".join(["1"] * (self.count + 1)))
        if self.ordered:
            out.append("2,1")
        return out


@dataclass(frozen=True)
class IsoDate(Check):
    """A real calendar day written YYYY-MM-DD; the value is a :class:`datetime.date`."""

    def __call__(self, text: str) -> dt.date:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            _refuse(f"must be a date in YYYY-MM-DD form, got {text!r}")
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError as exc:
            _refuse(f"{text.strip()} is not a real day ({exc})")

    def describe(self) -> str:
        return "YYYY-MM-DD"

    def bad_examples(self, scratch: Path) -> list[str]:
        return ["2026-13-01", "2026-02-30", "01/06/2022", "yesterday"]


@dataclass(frozen=True)
class Text(Check):
    """Non-empty text, optionally matching ``pattern`` (``rule`` says the pattern in words)."""

    pattern: str | None = None
    rule: str = ""
    bad: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        if not text.strip():
            _refuse("must not be empty")
        if self.pattern and not re.fullmatch(self.pattern, text):
            _refuse(f"{self.rule or 'must match ' + self.pattern}, got {text!r}")
        return text

    def bad_examples(self, scratch: Path) -> list[str]:
        return ["", *self.bad]


#: a site, line or node name: the MQTT topic level rule of ``peakline.wire``
NAME = Text(pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
            rule="must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            bad=("line/1", "+", "-x"))


@dataclass(frozen=True)
class ExistingFile(Check):
    """A file that exists (``what`` names it in messages: 'CSV file', 'TOML config')."""

    what: str = "file"

    def __call__(self, text: str) -> str:
        path = Path(text).expanduser()
        if not text.strip():
            _refuse(f"must name a {self.what}")
        if path.is_dir():
            _refuse(f"{text} is a folder, not a {self.what}")
        if not path.is_file():
            _refuse(f"no such {self.what}: {text}")
        return text

    def bad_examples(self, scratch: Path) -> list[str]:
        return [str(scratch / "no-such-file.txt"), str(scratch)]


@dataclass(frozen=True)
class ExistingDir(Check):
    """A folder that exists."""

    what: str = "folder"

    def __call__(self, text: str) -> str:
        path = Path(text).expanduser()
        if not text.strip():
            _refuse(f"must name a {self.what}")
        if path.exists() and not path.is_dir():
            _refuse(f"{text} is a file, not a {self.what}")
        if not path.is_dir():
            _refuse(f"no such {self.what}: {text}")
        return text

    def bad_examples(self, scratch: Path) -> list[str]:
        return [str(scratch / "no-such-folder"), str(_a_file(scratch))]


def _a_file(scratch: Path) -> Path:
    path = scratch / "a-file"
    path.write_text("not a folder\n")
    return path


def _blocked_by_file(path: Path) -> Path | None:
    """The first existing parent of ``path`` that is a file (so ``path`` cannot be made)."""
    for parent in path.parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


@dataclass(frozen=True)
class OutputFile(Check):
    """A file to write (created, with its folders, when missing; never a folder)."""

    what: str = "file"
    dash: bool = False  # '-' means standard output

    def __call__(self, text: str) -> str:
        if self.dash and text == "-":
            return text
        path = Path(text).expanduser()
        if not text.strip():
            _refuse(f"must name a {self.what}")
        if path.is_dir():
            _refuse(f"{text} is a folder; give a {self.what} name")
        blocker = _blocked_by_file(path)
        if blocker is not None:
            _refuse(f"cannot write {text}: {blocker} is a file, not a folder")
        return text

    def bad_examples(self, scratch: Path) -> list[str]:
        return [str(scratch), str(_a_file(scratch) / "out.txt")]


@dataclass(frozen=True)
class OutputDir(Check):
    """A folder to write into (created when missing; never a file)."""

    what: str = "folder"

    def __call__(self, text: str) -> str:
        path = Path(text).expanduser()
        if not text.strip():
            _refuse(f"must name a {self.what}")
        if path.exists() and not path.is_dir():
            _refuse(f"{text} is a file, not a {self.what}")
        blocker = _blocked_by_file(path)
        if blocker is not None:
            _refuse(f"cannot make {text}: {blocker} is a file, not a folder")
        return text

    def bad_examples(self, scratch: Path) -> list[str]:
        return [str(_a_file(scratch)), str(_a_file(scratch) / "sub")]


def _squash(name: str) -> str:
    return re.sub(r"[\s_.'’-]", "", name).lower()


@cache
def _countries() -> dict[str, str]:
    """Every spelling the ``holidays`` package knows -> ISO 3166 alpha-2 code (offline)."""
    import holidays

    out: dict[str, str] = {}
    try:
        from holidays.registry import COUNTRIES

        entries = [(key, *names) for key, names in COUNTRIES.items()]
    except ImportError:  # pragma: no cover - an older or newer holidays without the registry
        entries = []
    for key, class_name, alpha2, *aliases in entries:
        for name in (key, class_name, alpha2, *aliases):
            if not name.startswith("Holidays"):
                out.setdefault(_squash(name), alpha2)
    for code in holidays.list_supported_countries(include_aliases=False):
        out.setdefault(_squash(code), code)
    return out


@dataclass(frozen=True)
class Country(Check):
    """A country as an ISO 3166 code (``CN``, ``CHN``) or its English name (``China``);
    the value is always the alpha-2 code, so stored forecasts name countries one way."""

    def __call__(self, text: str) -> str:
        known = _countries()
        code = known.get(_squash(text))
        if code is None:
            near = difflib.get_close_matches(_squash(text), known, n=1, cutoff=0.75)
            guess = f"; did you mean {known[near[0]]}?" if near else ""
            _refuse(f"unknown country {text!r}: give an ISO 3166 code (CN, US, DE) or an "
                    f"English country name{guess}")
        return code

    def describe(self) -> str:
        return "ISO 3166 code or English name"

    def bad_examples(self, scratch: Path) -> list[str]:
        return ["Atlantis", "XX", ""]


@dataclass(frozen=True)
class DbUrl(Check):
    """``sqlite:///path.db``, a plain path (SQLite) or ``postgresql://user@host/db``.

    Only the form and the SQLite file's folder are checked here. ``existing``: the command
    needs the database to exist already, which ``plant.commands.db.open_store`` checks when the
    command opens it (``--db`` has a default that a command like ``backtest --csv`` never opens,
    and argparse checks defaults too)."""

    existing: bool = False

    def __call__(self, text: str) -> str:
        url = text.strip()
        if not url:
            _refuse("must name a database: sqlite:///path.db or postgresql://user@host/db")
        scheme = url.split("://", 1)[0].lower() if "://" in url else "sqlite"
        if scheme not in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
            _refuse(f"unsupported database {url!r}: use sqlite:///path.db (or a path) or "
                    "postgresql://user@host/db")
        if scheme == "sqlite":
            path = sqlite_path(url)
            if path is None:
                _refuse(f"{url!r} names no file: use sqlite:///path.db")
            folder = path.parent
            if not folder.is_dir():
                _refuse(f"{url}: folder {folder} does not exist")
        return url

    def bad_examples(self, scratch: Path) -> list[str]:
        out = ["mysql://db-host/plant", "sqlite://", str(scratch / "no-such-folder" / "x.db")]
        if self.existing:  # a typo: refused when the command opens it, and not created
            out.append(f"sqlite:///{scratch / 'plnat.db'}")
        return out


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL or plain path; None for in-memory or non-SQLite URLs."""
    if "://" not in url:
        return Path(url).expanduser()
    scheme, rest = url.split("://", 1)
    if scheme.lower() != "sqlite":
        return None
    name = rest[1:] if rest.startswith("/") else rest
    name = name.split("?", 1)[0]
    if not name or name == ":memory:":
        return None
    return Path(name).expanduser()


class LazyChoices(Sequence[str]):
    """Choices read from a module only when first needed (so ``--help`` stays fast)."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load

    @property
    def _items(self) -> tuple[str, ...]:
        if not hasattr(self, "_cached"):
            self._cached = tuple(self._load())
        return self._cached

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, value: object) -> bool:
        return value in self._items


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's help ends with what it accepts and its default (unless it says them)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        notes = []
        if isinstance(action.type, Check) and action.type.describe():
            notes.append(action.type.describe().replace("%", "%%"))
        shows_default = action.option_strings or action.nargs in (argparse.OPTIONAL,
                                                                  argparse.ZERO_OR_MORE)
        unset = (action.default is None or action.default is False
                 or action.default is argparse.SUPPRESS or action.default == [])
        if "%(default)" not in text and shows_default and not unset:
            notes.append("default: %(default)s")
        return f"{text} ({'; '.join(notes)})".strip() if notes else text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose refusals are one line and that suggests a mistyped option."""

    #: the leaf parsers by their prog, filled in by ``peakline.cli`` (for did-you-mean)
    leaves: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        sub = next((a for a in self._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is not None and message.startswith("the following arguments are required"):
            message = f"choose one of: {', '.join(sub.choices)} (see {self.prog} --help)"
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            leaves = getattr(self, "leaves", {})
            leaf = leaves.get(getattr(parsed, "_prog", ""), self)
            leaf.error(_unrecognized(extras, leaf))
        return parsed


def _unrecognized(extras: list[str], parser: argparse.ArgumentParser) -> str:
    message = f"unrecognized arguments: {' '.join(extras)}"
    options = [s for a in parser._actions for s in a.option_strings]
    for word in extras:
        if word.startswith("-"):
            near = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
            if near:
                return f"{message} (did you mean {near[0]}?)"
            break
    return message
