"""Model families: the name a user thinks in, for a model name as a provider reported it.

``gpt-4o-mini-2024-07-18`` is a ``gpt-4o-mini``; ``claude-sonnet-4-5-20250929``, the Bedrock
ids ``anthropic.claude-sonnet-4-5-20250929-v1:0`` and ``us.anthropic.claude-sonnet-4-5-...``,
Vertex's ``claude-sonnet-4-5@20250929`` and OpenRouter's ``anthropic/claude-sonnet-4.5`` are
all ``claude-sonnet-4-5``. A pure function of the name (no catalog): filters, groupings and
charts compute it at query time from the few distinct model names stored.

Rules, applied in this order (a name no rule changes is its own family, lower-cased):

1. case and surrounding whitespace are ignored; OpenAI fine-tuned ids ``ft:<base>:...`` are
   ``ft:<family of base>`` (fine-tuned models are priced apart from their base);
2. a path keeps its last segment (``openai/gpt-4o``, ``openrouter/anthropic/...``,
   ``projects/p/locations/l/publishers/google/models/gemini-2.0-flash-001``, Bedrock ARNs,
   ``models/gemini-1.5-pro``); OpenRouter variants (``:free``, ``:beta``, ``:thinking``...) and
   Ollama's ``:latest`` are dropped;
3. Bedrock: a cross-region profile (``us.``, ``eu.``, ``apac.``, ``global.``...) and the model
   vendor (``anthropic.``, ``amazon.``, ``meta.``...) are dropped, then the version suffix
   ``:N``, then ``-v1`` (or any ``-vN`` right after a date: an API version, while
   ``titan-embed-text-v2`` names a model);
4. snapshot dates: ``-YYYY-MM-DD`` (OpenAI), ``-YYYYMMDD`` (Anthropic), ``@YYYYMMDD`` (Vertex),
   ``-MM-YYYY`` (Cohere), ``-MMDD`` (``gpt-4-0613``, ``deepseek-r1-0528``), ``-YYMM`` for
   2023 on (Mistral's ``mistral-large-2411``), ``-MM-DD`` after ``preview``/``exp``
   (Gemini previews), only valid dates; the moving tags ``-latest``, ``@latest``,
   ``@default``; Gemini's stable versions ``-001``, ``-002``;
5. Claude version numbers written with dots (OpenRouter: ``claude-3.5-sonnet``) take dashes,
   and Vertex's ``-v2`` after a Claude name is dropped.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re

__all__ = ["model_family"]

_OPENROUTER_VARIANT = re.compile(
    r":(?:free|beta|extended|thinking|nitro|floor|online|latest)$", re.IGNORECASE
)
_BEDROCK_GEO = re.compile(r"^(?:us-gov|us|eu|apac|ap|global|au|jp|in|ca|sa|me|af|il|mx)\.")
_BEDROCK_VENDORS = (
    "anthropic",
    "amazon",
    "meta",
    "mistral",
    "cohere",
    "ai21",
    "deepseek",
    "qwen",
    "openai",
    "writer",
    "twelvelabs",
    "stability",
    "luma",
    "minimax",
    "moonshot",
    "moonshotai",
    "google",
    "nvidia",
)
_BEDROCK_VENDOR = re.compile(rf"^(?:{'|'.join(_BEDROCK_VENDORS)})\.(?=[a-z])")
_BEDROCK_COLON_VERSION = re.compile(r"^(?P<base>.+-v\d+):\d+$")
_V1 = re.compile(r"^(?P<base>.+)-v1$")
_DATED_VERSION = re.compile(r"^(?P<base>.+[-@](?:20\d{6}|20\d\d-\d\d-\d\d))-v\d+$")
_ISO_DATE = re.compile(r"^(?P<base>.+?)[-@](?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)$")
_COMPACT_DATE = re.compile(r"^(?P<base>.+?)[-@](?P<y>20\d\d)(?P<m>\d\d)(?P<d>\d\d)$")
_PREVIEW_DATE = re.compile(r"^(?P<base>.+-(?:preview|exp))-(?P<m>\d\d)-(?P<d>\d\d)$")
_MONTH_YEAR = re.compile(r"^(?P<base>.+?)-(?P<m>0[1-9]|1[0-2])-(?P<y>20\d\d)$")
_MONTH_DAY = re.compile(r"^(?P<base>.+?)-(?P<m>\d\d)(?P<d>\d\d)$")
_YEAR_MONTH = re.compile(r"^(?P<base>.+?)-(?P<y>2[3-9])(?P<m>0[1-9]|1[0-2])$")
_MOVING_TAG = re.compile(r"^(?P<base>.+?)(?:-latest|@latest|@default)$")
_GEMINI_STABLE = re.compile(r"^(?P<base>gemini-.+)-00\d$")
_CLAUDE_VERSION = re.compile(r"^(?P<base>claude-.+)-v\d+$")
_CLAUDE_DOTS = re.compile(r"(?<=\d)\.(?=\d)")
_FINE_TUNED = re.compile(r"^ft:(?P<base>[^:]+)(?::.*)?$")


def _valid(y: str, m: str, d: str) -> bool:
    try:
        _dt.date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def _strip_bedrock(name: str) -> str:
    geo = _BEDROCK_GEO.match(name)
    rest = name[geo.end() :] if geo else name
    vendor = _BEDROCK_VENDOR.match(rest)
    if vendor is None:
        return name  # not a Bedrock id ("gpt-3.5-turbo" has a dot too)
    rest = rest[vendor.end() :]
    m = _BEDROCK_COLON_VERSION.match(rest)
    if m:
        rest = m["base"]
    m = _DATED_VERSION.match(rest) or _V1.match(rest)
    return m["base"] if m else rest


def _strip_date(name: str) -> str | None:
    """The name without one trailing snapshot date or moving tag, or ``None``."""
    for pattern in (_ISO_DATE, _COMPACT_DATE):
        m = pattern.match(name)
        if m and _valid(m["y"], m["m"], m["d"]):
            return m["base"]
    m = _MONTH_YEAR.match(name)
    if m:
        return m["base"]
    m = _PREVIEW_DATE.match(name) or _MONTH_DAY.match(name)
    if m and _valid("2024", m["m"], m["d"]):  # a leap year: 0229 is a date
        return m["base"]
    for pattern in (_YEAR_MONTH, _MOVING_TAG, _GEMINI_STABLE):
        m = pattern.match(name)
        if m:
            return m["base"]
    return None


@functools.lru_cache(maxsize=4096)
def model_family(model: str | None) -> str:
    """The family of a reported model name (``""`` for no name); see the module's rules."""
    if not model:
        return ""
    name = str(model).strip().lower()
    ft = _FINE_TUNED.match(name)
    if ft:
        return f"ft:{model_family(ft['base'])}"
    name = _OPENROUTER_VARIANT.sub("", name)
    name = name.rsplit("/", 1)[-1] or name
    name = _strip_bedrock(name)
    for _ in range(3):  # "-latest" after a date, a date after "-001"...
        base = _strip_date(name)
        if not base:
            break
        name = base
    if name.startswith("claude-"):
        m = _CLAUDE_VERSION.match(name)  # Vertex's "claude-3-5-sonnet-v2@20241022"
        name = _CLAUDE_DOTS.sub("-", m["base"] if m else name)
    return name
