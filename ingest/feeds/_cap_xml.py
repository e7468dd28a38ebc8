"""Safe XML decoding for CAP documents and their Atom/RSS indexes.

`defusedxml` with every guard on: a document type declaration (DTD) is refused outright, so
no entity can be declared, expanded (billion laughs, quadratic blowup) or fetched (external
entities); expat stops at the `<!DOCTYPE` before reading any declaration. CAP has no DTD, so
nothing valid is lost. A size limit bounds memory before the parser sees a byte.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

import defusedxml
import defusedxml.ElementTree as safe_et

from ._common import strip_bom
from .base import FeedError

MAX_PARSE_BYTES = 16 * 1024 * 1024  # `parse` (files, `ioc feeds parse`)
# CAP nests 4 levels (alert/info/area/polygon); extensions and signatures a few more. A document
# nested thousands deep is hostile: building and freeing such a tree takes seconds.
MAX_DEPTH = 64


class _TooDeep(Exception):
    pass


class _DepthLimitedBuilder(TreeBuilder):
    """Stops the parse as soon as elements nest deeper than MAX_DEPTH."""

    def __init__(self):
        super().__init__()
        self.depth = 0

    def start(self, tag, attrs):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep()
        return super().start(tag, attrs)

    def end(self, tag):
        self.depth -= 1
        return super().end(tag)


def decode_xml(payload: bytes, *, max_bytes: int = MAX_PARSE_BYTES) -> Element:
    """The root element of a well-formed XML document; FeedError('decode') otherwise."""
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise FeedError("decode", f"expected bytes, got {type(payload).__name__}")
    if len(payload) > max_bytes:
        raise FeedError("decode", f"document is {len(payload)} bytes, more than the {max_bytes} allowed")
    # A BOM, and blank lines some servers put before the XML declaration, are not content.
    body = strip_bom(bytes(payload)).lstrip(b" \t\r\n")
    if not body:
        raise FeedError("decode", "empty document")
    try:
        parser = safe_et.DefusedXMLParser(target=_DepthLimitedBuilder(), forbid_dtd=True, forbid_entities=True,
                                          forbid_external=True)
        parser.feed(body)
        return parser.close()
    except _TooDeep:
        raise FeedError("decode", f"XML nested more than {MAX_DEPTH} elements deep") from None
    except defusedxml.DTDForbidden:
        raise FeedError("decode", "a DTD (<!DOCTYPE>) is not allowed in CAP: refused unread") from None
    except defusedxml.EntitiesForbidden as exc:
        raise FeedError("decode", f"entity declarations are not allowed: {exc.name}") from None
    except defusedxml.ExternalReferenceForbidden:
        raise FeedError("decode", "external references are not allowed") from None
    except defusedxml.DefusedXmlException as exc:
        raise FeedError("decode", f"unsafe XML refused: {type(exc).__name__}") from None
    except ParseError as exc:
        raise FeedError("decode", f"not well-formed XML: {exc}") from None
    except (UnicodeError, LookupError, ValueError) as exc:  # unknown or broken encodings
        raise FeedError("decode", f"cannot decode the XML text: {exc}") from None


def split_tag(tag) -> tuple[str | None, str]:
    """(namespace, local name) of an element tag; comments and processing instructions have none."""
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def text_of(elem: Element) -> str | None:
    """Stripped text content (child elements' text included); None when blank."""
    text = "".join(elem.itertext()).strip()
    return text or None
