"""Documentation as knowledge: Markdown/MDX pages (GitHub, MkDocs, Docusaurus)
become one entry per section, cited by the link the docs site builds."""

from knowledge.docs.reader import DocsSource, is_docs, read_docs

__all__ = ["DocsSource", "is_docs", "read_docs"]
