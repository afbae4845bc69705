"""SMS encoding and segment counts: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67 per part)."""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each takes two septets (escape + char)


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...] = ()  # the characters that forced UCS-2

    @property
    def remaining(self) -> int:
        return self.segments * self.per_segment - self.length if self.segments else 0


def sms_info(body: str) -> SmsInfo:
    non_gsm = tuple(sorted({ch for ch in body if ch not in GSM7_BASIC and ch not in GSM7_EXTENDED}))
    if not non_gsm:
        length = sum(2 if ch in GSM7_EXTENDED else 1 for ch in body)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        length = len(body.encode("utf-16-le")) // 2  # emoji count twice (surrogate pairs)
        single, multi, encoding = 70, 67, "UCS-2"
    if length == 0:
        return SmsInfo(encoding, 0, 0, single, non_gsm)
    if length <= single:
        return SmsInfo(encoding, length, 1, single, non_gsm)
    segments = -(-length // multi)
    return SmsInfo(encoding, length, segments, multi, non_gsm)


# "Reply STOP", "text STOP to …", "STOP to end": any STOP keyword counts as the instruction.
STOP_INSTRUCTION = re.compile(r"\b(STOP|STOPALL|UNSUBSCRIBE)\b")


def with_opt_out(body: str, opt_out_text: str) -> str:
    """A marketing SMS that does not say how to opt out gets `opt_out_text` on its own line."""
    if not opt_out_text or STOP_INSTRUCTION.search(body):
        return body
    return f"{body}\n{opt_out_text}" if body else opt_out_text
