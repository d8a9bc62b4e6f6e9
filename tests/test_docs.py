"""The README is a front page and docs/ the manual: every local link resolves, and what is generated stays generated."""

import re
from pathlib import Path

import pytest

from components.weakening import WEAKENINGS
from testkit.mock_runtime import ROOT
from tools import config_reference

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").glob("*/README.md")])
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```.*?```", re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text())
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def local_links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text())
    return [link for link in _LINK.findall(text) if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_local_link_and_anchor_resolves(page: Path) -> None:
    for link in local_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} points at nothing"
        if anchor:
            assert anchor in anchors(target), f"{page.name}: {link}: no heading with anchor #{anchor} in {target.name}"


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10_240, "keep the README a front page: move detail into docs/"
    assert "make up" in readme and "make test" in readme
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in local_links(ROOT / "README.md")}
    assert {page.resolve() for page in (ROOT / "docs").glob("*.md")} <= linked, "every page of the manual is linked from the README"


def test_the_two_commands_of_the_readme_are_what_ci_runs() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^up: ", makefile, re.M) and re.search(r"^test: ", makefile, re.M)


def test_every_make_target_the_docs_mention_exists() -> None:
    targets = set(re.findall(r"^([a-z0-9-]+):", (ROOT / "Makefile").read_text(), re.M))
    for page in PAGES:
        for target in re.findall(r"`make ([a-z0-9-]+)", page.read_text()):
            assert target in targets, f"{page.name} mentions `make {target}`, which does not exist"


def test_the_configuration_tables_are_the_generated_ones() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    generated = text.split(config_reference.DOCS_BEGIN + "\n")[1].split(config_reference.DOCS_END)[0]
    assert generated == config_reference.docs_table(), "run `make generate`"


def test_the_security_page_lists_every_weakening_the_pack_refuses() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    for weakening in WEAKENINGS:
        assert f"`{weakening.id}`" in text, weakening.id
