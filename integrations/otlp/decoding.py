"""OTLP/HTTP bodies in and answers out: protobuf or the OTLP JSON mapping, gzip or not.

Rules from the OTLP specification (monitoring-integrations notes, §4.1): the media type is
`application/x-protobuf` or `application/json` (anything else is 415); the body may be gzip,
and the size cap holds after decompression too (413); JSON ids (`traceId`, `spanId`) are hex,
not proto3's base64, and unknown fields are ignored; the answer has the request's media type.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES = (PROTOBUF, JSON)
HEX_ID_FIELDS = ("traceId", "spanId")

M = TypeVar("M", bound=Message)


class BadBody(ValueError):
    """The body cannot be decoded (400): bad gzip, protobuf or JSON."""


class TooLarge(ValueError):
    """The body is over the cap, before or after decompression (413)."""


class UnsupportedMedia(ValueError):
    """Neither protobuf nor JSON (415)."""


def media_type(content_type: str) -> str:
    """The request's media type, or UnsupportedMedia."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in MEDIA_TYPES:
        raise UnsupportedMedia(f"Content-Type must be {PROTOBUF} or {JSON}, not {kind or 'none'}.")
    return kind


def decompressed(body: bytes, encoding: str, limit: int) -> bytes:
    """The body with its Content-Encoding undone, at most `limit` bytes once inflated."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise UnsupportedMedia(f"Content-Encoding must be gzip or none, not {encoding}.")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        # One byte more than the cap tells an oversize body without inflating all of it.
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadBody(f"Body is not valid gzip: {exc}.") from None
    if len(out) > limit:
        raise TooLarge(f"Body is larger than {limit} bytes once decompressed.")
    if not inflater.eof:
        raise BadBody("Body is not valid gzip: it ends early.")
    return out


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP JSON's hex trace and span ids as proto3 JSON's base64, which `json_format` reads
    (it would read hex as base64, silently, into the wrong bytes)."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name in HEX_ID_FIELDS and isinstance(value, str):
                try:
                    node[name] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise BadBody(f"{name}: not a hex id.") from None
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)
    return node


def parse(body: bytes, kind: str, message: M) -> M:
    """`body` decoded into `message` (an empty Export…ServiceRequest)."""
    if kind == PROTOBUF:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise BadBody(f"Body is not a valid protobuf message: {exc}.") from None
        return message
    try:
        tree = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBody(f"Body is not valid JSON: {exc}.") from None
    if not isinstance(tree, dict):
        raise BadBody("Body must be a JSON object.")
    try:
        return json_format.ParseDict(_hex_ids_to_base64(tree), message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadBody(f"Body is not an OTLP message: {exc}.") from None


def encoded(message: Message, kind: str) -> bytes:
    """An Export…ServiceResponse in the request's media type."""
    if kind == PROTOBUF:
        return message.SerializeToString()
    return json.dumps(json_format.MessageToDict(message)).encode()
