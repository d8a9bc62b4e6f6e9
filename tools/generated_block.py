"""Generated blocks in hand-written documents: the text between two marker lines, rewritten by the tool that owns it."""


def replace_block(document: str, begin: str, end: str, block: str) -> str:
    """The document with what lies between the `begin` and `end` markers replaced by `block`."""
    head, found_begin, rest = document.partition(begin)
    _, found_end, tail = rest.partition(end)
    if not found_begin or not found_end:
        raise SystemExit(f"the document has no generated-block markers: {begin} ... {end}")
    return f"{head}{begin}\n{block}{end}{tail}"
