"""Compose's variable interpolation, as the Compose specification defines it, for tests.

`$$` is a literal `$`; `$NAME` and `${NAME}` the value (empty if unset);
`${NAME:-default}` / `${NAME-default}` the default when unset or empty / unset;
`${NAME:?message}` / `${NAME?message}` an error when unset or empty / unset;
`${NAME:+other}` / `${NAME+other}` the other value when set and non-empty / set.
Defaults, messages and other values may themselves hold `${...}` (nested).

Instead of stopping at the first error, as `docker compose` does, every
missing required variable is collected, so a test can name them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPERATORS = (":-", ":?", ":+", "-", "?", "+")


@dataclass
class Interpolation:
    """Interpolates strings against `env`, recording what the text asked for."""

    env: Mapping[str, str]
    used: set[str] = field(default_factory=set)
    missing: dict[str, str] = field(default_factory=dict)  # required name -> its message
    defaults: dict[str, set[str]] = field(default_factory=dict)  # name -> raw defaults

    def value(self, node: Any) -> Any:
        """`node` with every string inside it interpolated (mapping keys stay as they are)."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, dict):
            return {key: self.value(item) for key, item in node.items()}
        if isinstance(node, list):
            return [self.value(item) for item in node]
        return node

    def text(self, text: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            if text[i] != "$":
                out.append(text[i])
                i += 1
            elif text.startswith("$$", i):
                out.append("$")
                i += 2
            elif text.startswith("${", i):
                end = _closing_brace(text, i + 2)
                out.append(self._braced(text[i + 2 : end]))
                i = end + 1
            elif match := NAME.match(text, i + 1):
                self.used.add(match.group())
                out.append(self.env.get(match.group(), ""))
                i = match.end()
            else:
                out.append("$")
                i += 1
        return "".join(out)

    def _braced(self, inner: str) -> str:
        match = NAME.match(inner)
        if match is None:
            raise ValueError(f"not a variable: ${{{inner}}}")
        name, rest = match.group(), inner[match.end() :]
        self.used.add(name)
        value = self.env.get(name)
        if not rest:
            return value or ""
        operator = next((op for op in OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise ValueError(f"unknown operator in ${{{inner}}}")
        argument = self.text(rest[len(operator) :])  # nested ${...} are read too
        is_set = value is not None and (value != "" or ":" not in operator)
        if operator.endswith("-"):
            self.defaults.setdefault(name, set()).add(rest[len(operator) :])
            return value if is_set and value is not None else argument
        if operator.endswith("?"):
            if not is_set:
                self.missing.setdefault(name, argument)
                return ""
            return value or ""
        return argument if is_set else ""


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def read_env_file(path: Path) -> dict[str, str]:
    """A Compose `.env` file: `NAME=value` lines; `#` lines and blank lines skipped."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, separator, value = stripped.partition("=")
        if not separator:
            raise ValueError(f"{path.name}: not NAME=value: {line!r}")
        values[name.strip()] = value.strip()
    return values


def documented_names(path: Path) -> dict[str, bool]:
    """Each `NAME=` of an env file, and whether a `#` comment line comes just before it."""
    documented = {}
    previous = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            documented[stripped.partition("=")[0].strip()] = previous.startswith("#")
        previous = stripped
    return documented
