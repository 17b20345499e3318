"""Just enough of a Dockerfile reader for tests: stages and their instructions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

FROM = re.compile(r"(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array form (`["a", "b"]`) of CMD, ENTRYPOINT and the like."""
        value = json.loads(self.arguments)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {self.arguments}"
        return [str(item) for item in value]


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [each for each in self.instructions if each.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


def instructions(path: Path) -> list[Instruction]:
    """Logical lines: comments dropped, `\\` continuations joined."""
    logical: list[Instruction] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line:
            keyword, _, arguments = line.partition(" ")
            logical.append(Instruction(keyword.upper(), arguments.strip()))
    return logical


def stages(path: Path) -> list[Stage]:
    found: list[Stage] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            match = FROM.fullmatch(instruction.arguments)
            assert match, instruction
            found.append(Stage(match["name"] or str(len(found)), match["image"]))
        elif found:
            found[-1].instructions.append(instruction)
    return found


def lineage(all_stages: list[Stage], target: str) -> list[Stage]:
    """`target` and every stage it is built on or copies from, transitively."""
    by_name = {stage.name: stage for stage in all_stages}
    seen: dict[str, Stage] = {}
    todo = [target]
    while todo:
        stage = by_name[todo.pop()]
        if stage.name in seen:
            continue
        seen[stage.name] = stage
        if stage.base in by_name:
            todo.append(stage.base)
        for copy in stage.all("COPY"):
            source = re.search(r"--from=(\S+)", copy.arguments)
            if source and source.group(1) in by_name:
                todo.append(source.group(1))
    return list(seen.values())


def copied_sources(stage: Stage) -> list[str]:
    """What the stage's COPY/ADD instructions take from the build context."""
    sources: list[str] = []
    for each in stage.all("COPY") + stage.all("ADD"):
        if "--from=" in each.arguments:
            continue
        words = [word for word in each.arguments.split() if not word.startswith("--")]
        sources += words[:-1]
    return sources
