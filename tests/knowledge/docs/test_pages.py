"""A docs page as the importer sees it: sections with plain-text heading
paths, docs-site markup cleaned away, links as a member can open them."""

from __future__ import annotations

import pytest

from knowledge.docs.page import parse_page
from knowledge.docs.sites import Anchors, Site, slug_github, slug_mkdocs

MKDOCS = Site("mkdocs", "https://docs.example.org/")


def sections(text: str, site: Site = MKDOCS, rel: str = "guide/page.md", partial=None):  # type: ignore[no-untyped-def]
    def resolve(target: str) -> str | None:
        if target.startswith(("http://", "https://")):
            return target
        path, _, anchor = target.partition("#")
        page = site.page_url(path or rel) if path.endswith(".md") or not path else site.asset_url(path)
        return f"{page}#{anchor}" if anchor else page

    return parse_page(text, site_kind=site.kind, resolve=resolve, partial=partial).sections


def test_front_matter_is_not_a_heading_and_paths_start_at_the_page_heading() -> None:
    found = sections("---\ntitle: FAQs\nslug: faq\n---\n\n# Questions\n\n## Which broker?\nRedis.\n")
    assert [s.path for s in found] == [("Questions", "Which broker?")]
    assert "title:" not in found[0].text


@pytest.mark.parametrize(("raw", "plain"), [
    ("## _Which message broker should I use_?", "Which message broker should I use?"),
    ("## Consumer warns `OCR for XX failed`", "Consumer warns OCR for XX failed"),
    ('## Web-UI stuck at "Loading\\..."', 'Web-UI stuck at "Loading..."'),
    ("## Installation Script {#docker_script}", "Installation Script"),
    ('## Advanced {#advanced_compose data-toc-label="Advanced"}', "Advanced"),
    ("## [Docker Route](#docker-updating)", "Docker Route"),
    ("## **Bold** and *em* and __strong__", "Bold and em and strong"),
    ('## Log reports "Creating PaperlessTask failed".', 'Log reports "Creating PaperlessTask failed".'),
    ('## Database Warns about unique constraint "documents_tag_name_uniq',
     'Database Warns about unique constraint "documents_tag_name_uniq'),
    ("## `PAPERLESS_DB_HOST` and `snake_case_name`", "PAPERLESS_DB_HOST and snake_case_name"),
])
def test_headings_become_plain_text(raw: str, plain: str) -> None:
    found = sections(f"# Page\n\n{raw}\n\nSome text.\n")
    assert found[0].path == ("Page", plain)


def test_a_hash_line_in_a_code_block_is_no_heading() -> None:
    found = sections("# Page\n\n## Setup\n\n```bash\n# not a heading\nrun it\n```\n\n## Next\nmore\n")
    assert [s.path[-1] for s in found] == ["Setup", "Next"]
    assert "# not a heading" in found[0].text


def test_skipped_levels_are_simply_absent() -> None:
    found = sections("# Top\n\n## Parent\nintro\n\n#### Deep\ntext\n")
    assert found[-1].path == ("Top", "Parent", "Deep")


def test_mkdocs_admonitions_collapsibles_and_tabs_become_plain_text() -> None:
    text = ('# P\n\n## S\n\n!!! warning "Careful"\n\n    Back up first.\n\n??? tip\n\n    Hidden tip.\n\n'
            '=== "Compose"\n\n    ```yaml\n    image: x\n    ```\n\nAfter.\n')
    body = sections(text)[0].text
    assert "!!!" not in body and "???" not in body and '=== "' not in body
    assert "Warning (Careful):\nBack up first." in body and "Tip:\nHidden tip." in body
    assert "```yaml\nimage: x\n```" in body and "After." in body


def test_docusaurus_admonitions_imports_and_components_are_cleaned_and_partials_inlined() -> None:
    page = ("---\nid: install\n---\n\nimport Tabs from '@theme/Tabs';\nimport Cli from './\\_cli.md';\n\n"
            "# Install\n\n:::note Before you start\n\nYou need Docker.\n\n:::\n\n"
            '<Tabs>\n<TabItem value="cli" label="Docker CLI">\n\n<Cli />\n\n</TabItem>\n</Tabs>\n')
    partial = {"./_cli.md": "Run `docker run tidepool/agent`.\n"}
    body = sections(page, Site("docusaurus", "https://x.org/docs/"), partial=partial.get)[0].text
    assert ":::" not in body and "import " not in body and "<" not in body
    assert "Note (Before you start):\nYou need Docker." in body
    assert "Docker CLI:" in body and "Run `docker run tidepool/agent`." in body


def test_html_headings_split_sections_and_carry_their_ids() -> None:
    found = sections('# P\n\n## Migrating\nintro\n\n<h3 id="from-lsio">From LinuxServer.io</h3>\n\nSteps.\n')
    assert found[-1].path == ("P", "Migrating", "From LinuxServer.io")
    assert found[-1].anchor == "from-lsio"


def test_an_html_heading_over_several_lines_is_one_heading() -> None:
    # A GitHub FAQ writes its questions as <h3 name="…"> with the text on a line of its own.
    found = sections('## FAQ\n\n* [Config?](#config)\n\n<h3 name="config">\nDoes it read\nconfig files?\n</h3>\n\n'
                     "Yes, see the guide.\n\n<h3>\nWhen is the next release?\n</h3>\n\nNo dates.\n")
    assert [s.path for s in found] == [("FAQ",), ("FAQ", "Does it read config files?"),
                                       ("FAQ", "When is the next release?")]
    assert found[1].anchor == "config" and found[1].text == "Yes, see the guide."
    assert "<h3" not in found[0].text + found[1].text + found[2].text


def test_a_component_keeps_the_words_it_shows_even_with_angle_brackets_in_them() -> None:
    page = ('---\ntitle: Errors\n---\n\nimport FaqItem from "@site/src/components/FaqItem";\n\n## Streams\n\n'
            '<FaqItem id="no-frames" question="No frames received from <camera> in 20 seconds">\n\n'
            "The stream went quiet.\n\n</FaqItem>\n")
    body = sections(page, Site("docusaurus", "https://x.org/docs/"))[-1].text
    assert body == "No frames received from <camera> in 20 seconds:\n\nThe stream went quiet."


def test_highlight_comments_and_annotations_leave_code_blocks() -> None:
    text = ("# P\n\n## Code\n\n```js\n// highlight-next-line\nconst a = 1;\n// highlight-start\nf();\n"
            "// highlight-end\n```\n\n```yaml\nvolumes: ./x # (1)!\n```\n")
    body = sections(text)[0].text
    assert "highlight" not in body and "(1)!" not in body
    assert "const a = 1;\nf();" in body and "volumes: ./x" in body


def test_links_and_images_become_absolute_and_html_and_attribute_lists_go() -> None:
    text = ("# P\n\n## S\n\nSee [usage](../usage.md#superusers), [here](#s) and "
            "[`KEY`](configuration.md#KEY){:target=\"_blank\"}. ![shot](img/a.png)<br>"
            "<!-- hidden --> &mdash; done <kbd>Ctrl</kbd>\n")
    body = sections(text)[0].text
    assert "[usage](https://docs.example.org/usage/#superusers)" in body
    assert "[here](https://docs.example.org/guide/page/#s)" in body
    assert "[`KEY`](https://docs.example.org/configuration/#KEY)" in body
    assert "![shot](https://docs.example.org/img/a.png)" in body
    assert "{:" not in body and "<" not in body and "hidden" not in body and "— done Ctrl" in body


def test_anchors_follow_each_site_and_repeats_stay_unique() -> None:
    assert slug_mkdocs("Consumer fails with a FileNotFoundError") == "consumer-fails-with-a-filenotfounderror"
    assert slug_mkdocs("Search Index (Whoosh -> Tantivy)") == "search-index-whoosh-tantivy"
    assert slug_github("Search Index (Whoosh -> Tantivy)") == "search-index-whoosh---tantivy"
    mk, gh = Anchors("mkdocs"), Anchors("docusaurus")
    assert [mk.make("Action Required") for _ in range(3)] == ["action-required", "action-required_1",
                                                               "action-required_2"]
    assert [gh.make("Action Required") for _ in range(3)] == ["action-required", "action-required-1",
                                                               "action-required-2"]


def test_page_links_are_built_as_each_site_builds_them() -> None:
    assert MKDOCS.section_url("guide/install.md", "docker") == "https://docs.example.org/guide/install/#docker"
    assert MKDOCS.page_url("index.md") == "https://docs.example.org/"
    docusaurus = Site("docusaurus", "https://jellyfin.org/docs/")
    assert docusaurus.page_url("general/8_reverse-proxy/nginx.md") == \
        "https://jellyfin.org/docs/general/reverse-proxy/nginx"
    assert docusaurus.page_url("general/installation/index.mdx") == "https://jellyfin.org/docs/general/installation"
    assert docusaurus.page_url("a/b.md", {"slug": "/custom"}) == "https://jellyfin.org/docs/custom"
    github = Site("github", "https://github.com/o/r/blob/main/docs/")
    assert github.section_url("setup.md", "x") == "https://github.com/o/r/blob/main/docs/setup.md#x"


def test_a_link_whose_title_holds_the_other_quote_is_still_a_link() -> None:
    text = ('# [Codec Tables](https://en.wikipedia.org/wiki/List_of_codecs "Wikipedia\'s list of codecs")\n\n'
            "## S\n\nSee [setup](setup.md 'the \"quick\" way') and ![shot](img/a.png (a screenshot)).\n")
    found = sections(text)
    assert found[-1].path == ("Codec Tables", "S")
    body = found[-1].text
    assert "[setup](https://docs.example.org/setup/)" in body
    assert "![shot](https://docs.example.org/img/a.png)" in body
    assert "quick" not in body and "screenshot" not in body
