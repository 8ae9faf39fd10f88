"""The :class:`Query` object: a parsed tree that prints itself and tests documents."""

from __future__ import annotations

from dataclasses import dataclass, field

from flocon.domain.query.ast import Node
from flocon.domain.query.document import PreparedDocument
from flocon.domain.query.literals import LiteralSet, required
from flocon.domain.query.matcher import Matcher, compile_node
from flocon.domain.query.printer import to_text

__all__ = ["Query"]


@dataclass(frozen=True, slots=True)
class Query:
    """A boolean query; build it with :func:`~flocon.domain.query.parse`.

    Equal trees give equal queries; ``str(query)`` is the normalised query
    text, and ``parse(str(query)) == query``.
    """

    root: Node
    _matcher: Matcher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matcher", compile_node(self.root))

    def __reduce__(self) -> tuple[type[Query], tuple[Node]]:
        # The compiled matcher is a closure: pickle the tree and compile again.
        return (Query, (self.root,))

    def matches(self, doc: PreparedDocument) -> bool:
        """Whether the prepared item matches this query."""
        return self._matcher(doc)

    def required_literals(self) -> LiteralSet | None:
        """Literals one of which a matching item must contain (None: no such set)."""
        return required(self.root)

    def __str__(self) -> str:
        return to_text(self.root)
