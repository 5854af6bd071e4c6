"""Deterministic model-name resolution rules (pure functions, no catalog access).

A model name as an SDK reports it rarely equals a catalog key. :func:`candidates` turns
the name into an ordered list of lookup candidates, each tagged with the rule that produced
it; :mod:`llmledger.pricing.catalog` tries them in order, first among the user's overrides,
then in the bundled catalog, and the first hit wins. There is no fuzzy matching: a name that
none of the rules below turns into a known key is *unknown*.

Rules, in the order they are tried (the tag becomes ``ModelPrice.matched_by``):

``exact``
    The name as given (``gpt-4o``, ``anthropic.claude-opus-4-7``).
``case_whitespace``
    Surrounding whitespace stripped and/or case ignored (``" GPT-4o "``).
``alias``
    A catalog alias (LiteLLM's ``alias_of``), e.g. ``claude-sonnet-latest`` -> the model it
    currently points to.
``provider_prefix``
    LiteLLM-style provider prefixes are removed (``openai/gpt-4o``, ``anthropic/...``,
    ``bedrock/...``, ``vertex_ai/...``, ``azure/...``, ``gemini/...``; several in a row are
    removed one at a time) and the removed prefix becomes the provider preference. The other
    direction too: when a provider is known, ``f"{provider}/{name}"`` keys are tried, because
    the catalog keeps some providers' models only under prefixed keys (``gemini/...``,
    ``xai/...``, ``mistral/...``). A bare name whose only entry is under exactly one model
    vendor's prefix (``grok-4.3`` -> ``xai/grok-4.3``) resolves to it; two vendors -> unknown.
``fine_tuned``
    OpenAI fine-tuned ids ``ft:<base>:<org>:<name>:<id>`` -> ``ft:<base>`` (fine-tuned
    models have their own, higher prices; they never fall back to the base model's).
``bedrock_version``
    Bedrock version suffixes: ``...-v1:0`` -> ``...-v1`` -> ``...`` (only for
    ``vendor.model`` style Bedrock ids).
``bedrock_region``
    Bedrock cross-region inference profiles (``us.``, ``eu.``, ``apac.``, ``global.``,
    ``au.``, ``jp.``, ``in.``, ``us-gov.`` ...), AWS region path segments
    (``bedrock/us-east-1/...``), ARNs of foundation models and inference profiles
    (``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic...``) and
    ``converse/`` / ``invoke/`` route segments are removed,
    but only when the regional id is not in the catalog: regional profiles often have their
    own, higher price (``us.anthropic.claude-opus-4-6-v1`` costs 10% more than the base id),
    so versions are stripped before regions.
``dated_snapshot_base``
    A dated snapshot falls back to its base model when the dated id itself is not in the
    catalog: ``-YYYY-MM-DD`` (OpenAI: ``gpt-4o-2024-08-06`` -> ``gpt-4o``), ``-YYYYMMDD``
    (Anthropic: ``claude-sonnet-4-5-20250929`` -> ``claude-sonnet-4-5``), ``@YYYYMMDD``
    (Vertex), and the moving ``-latest`` / ``@latest`` / ``@default`` tags. Only valid
    calendar dates are stripped (``-2512`` style version numbers are left alone).
``azure_deployment``
    Applied first (before everything above) when the provider is unknown or Azure: a
    deployment name the user mapped to a model (``set_azure_deployment`` or the overrides
    file) resolves as that model, preferring the ``azure/...`` catalog entry.
``override``
    Not a name rule: the ``matched_by`` of a user override is ``override`` when the name
    matched as given, else ``override+<rule>``.

Ambiguity: when a provider is known (argument, or a prefix in the name), a first pass over
all candidates accepts only entries of that provider (their ``litellm_provider`` family, so
``vertex_ai-language-models`` counts as ``vertex_ai`` and ``bedrock_converse`` as
``bedrock``); a second pass accepts any provider. Without a provider the bare key wins.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Container
from dataclasses import dataclass

__all__ = [
    "VENDOR_PREFIXES",
    "Candidate",
    "candidates",
    "canonical_provider",
]

# Provider spellings seen in SDKs, OpenTelemetry and LiteLLM -> the catalog's family name.
PROVIDER_ALIASES: dict[str, str] = {
    "google": "gemini",
    "google_genai": "gemini",
    "google_ai_studio": "gemini",
    "google_ai": "gemini",
    "gemini_api": "gemini",
    "vertex": "vertex_ai",
    "vertexai": "vertex_ai",
    "google_vertex": "vertex_ai",
    "google_vertex_ai": "vertex_ai",
    "gcp.vertex_ai": "vertex_ai",
    "gcp.gemini": "gemini",
    "aws": "bedrock",
    "aws_bedrock": "bedrock",
    "aws.bedrock": "bedrock",
    "amazon_bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure_openai": "azure",
    "az.ai.openai": "azure",
    "azure_text": "azure",
    "az.ai.inference": "azure_ai",
    "mistralai": "mistral",
    "mistral_ai": "mistral",
    "x_ai": "xai",
    "x.ai": "xai",
    "grok": "xai",
    "cohere_chat": "cohere",
    "text_completion_openai": "openai",
    "deepseek_ai": "deepseek",
}

# Providers that make the models they serve; a bare name found only under one of these
# prefixes resolves to it (hosting services such as fireworks_ai are not listed: a bare
# open-weights name under several hosts must stay unknown rather than be guessed).
VENDOR_PREFIXES: tuple[str, ...] = (
    "openai",
    "anthropic",
    "gemini",
    "mistral",
    "deepseek",
    "xai",
    "cohere",
    "ai21",
    "moonshot",
    "zai",
    "minimax",
    "dashscope",
    "perplexity",
    "voyage",
    "jina_ai",
)


def canonical_provider(name: str | None) -> str | None:
    """The provider family for a provider name or a LiteLLM ``litellm_provider`` value.

    ``vertex_ai-language-models`` -> ``vertex_ai``, ``bedrock_converse`` -> ``bedrock``,
    ``Azure-OpenAI`` -> ``azure``, ``google`` -> ``gemini``; ``None``/empty -> ``None``.
    """
    if not name:
        return None
    p = name.strip().lower().replace(" ", "_")
    if p.startswith("text-completion-"):
        p = p[len("text-completion-") :]
    for spelling in (p, p.replace("-", "_")):
        if spelling in PROVIDER_ALIASES:
            return PROVIDER_ALIASES[spelling]
    head, dash, tail = p.partition("-")
    # "vertex_ai-language-models", "fireworks_ai-embedding-models": the family is the head.
    family = head if dash and tail.endswith("models") else p.replace("-", "_")
    return PROVIDER_ALIASES.get(family, family) or None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One name to look up: the rule that produced it and the provider it implies."""

    name: str
    rule: str
    hint: str | None = None  # provider family implied by a stripped prefix


_ISO_DATE = re.compile(r"^(?P<base>.+?)[-@](?P<y>20\d\d)-(?P<m>\d\d)-(?P<d>\d\d)$")
_COMPACT_DATE = re.compile(r"^(?P<base>.+?)[-@](?P<y>20\d\d)(?P<m>\d\d)(?P<d>\d\d)$")
_MOVING_TAG = re.compile(r"^(?P<base>.+?)(?:-latest|@latest|@default)$", re.IGNORECASE)
_BEDROCK_GEO = re.compile(
    r"^(?:us-gov|us|eu|apac|ap|global|au|jp|in|ca|sa|me|af|il|mx)\.(?=[a-z0-9-]+\.[a-z0-9])",
    re.IGNORECASE,
)
_AWS_REGION_PATH = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d+/", re.IGNORECASE)
_BEDROCK_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:(?:inference-profile|foundation-model)/",
    re.IGNORECASE,
)
_FINE_TUNED = re.compile(r"^(?P<base>ft:[^:]+):.+$")
_BEDROCK_ROUTE = re.compile(r"^(?:converse|invoke)/", re.IGNORECASE)
_BEDROCK_ID = re.compile(r"^[a-z0-9-]+\.[a-z0-9]", re.IGNORECASE)
_VERSION_COLON = re.compile(r"^(?P<base>.+-v\d+):\d+$", re.IGNORECASE)
_VERSION_V = re.compile(r"^(?P<base>.+?)-v\d+$", re.IGNORECASE)


def _valid_date(y: str, m: str, d: str) -> bool:
    try:
        _dt.date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def strip_date(name: str) -> str | None:
    """The base name of a dated or ``-latest`` snapshot id, or ``None``."""
    for pattern in (_ISO_DATE, _COMPACT_DATE):
        m = pattern.match(name)
        if m and _valid_date(m["y"], m["m"], m["d"]):
            return m["base"]
    m = _MOVING_TAG.match(name)
    return m["base"] if m else None


def strip_provider_prefix(name: str, known: Container[str]) -> tuple[str, str] | None:
    """``("gpt-4o", "openai")`` for ``"openai/gpt-4o"`` when ``openai`` is a known provider."""
    head, sep, rest = name.partition("/")
    if not sep or not rest:
        return None
    family = canonical_provider(head)
    if family is None or (family not in known and head.lower() not in known):
        return None
    return rest, family


def _bedrock_region_variants(name: str) -> list[str]:
    out = []
    for pattern in (_BEDROCK_ROUTE, _AWS_REGION_PATH, _BEDROCK_GEO):
        m = pattern.match(name)
        if m:
            name = name[m.end() :]
            out.append(name)
    return out


def _bedrock_version_variants(name: str) -> list[str]:
    if not _BEDROCK_ID.match(name):
        return []
    out = []
    m = _VERSION_COLON.match(name)
    if m:
        name = m["base"]
        out.append(name)
    m = _VERSION_V.match(name)
    if m:
        out.append(m["base"])
    return out


def candidates(query: str, known_providers: Container[str]) -> list[Candidate]:
    """All lookup candidates for ``query``, most specific first, without duplicates.

    ``known_providers`` are the provider families (and raw prefixes) that may be stripped
    as a ``provider/`` prefix. Each transformation applies to every candidate produced so
    far, so rules combine (``bedrock/us.anthropic.claude-x-20250101-v1:0``); a candidate's
    rule is the last one applied, i.e. the least exact.
    """
    name = query.strip()
    first = Candidate(name, "exact" if name == query else "case_whitespace")
    out: list[Candidate] = [first]
    seen: set[tuple[str, str | None]] = {(name, None)}

    def add(cand: Candidate) -> None:
        key = (cand.name, cand.hint)
        if cand.name and key not in seen:
            seen.add(key)
            out.append(cand)

    m = _FINE_TUNED.match(name)
    if m:
        add(Candidate(m["base"], "fine_tuned"))
    # provider_prefix: "openai/gpt-4o", "openrouter/openai/gpt-4o", "bedrock/converse/x".
    for cand in list(out):
        current, hint = cand.name, cand.hint
        for _ in range(3):
            stripped = strip_provider_prefix(current, known_providers)
            if stripped is None:
                break
            current, hint = stripped[0], hint or stripped[1]
            add(Candidate(current, "provider_prefix", hint))
    # An ARN names its model or inference profile after the last "/".
    for cand in list(out):
        m = _BEDROCK_ARN.match(cand.name)
        if m:
            add(Candidate(cand.name[m.end() :], "bedrock_region", cand.hint or "bedrock"))
    # Version suffixes before regions: "-v1:0" and "-v1" name the same model, while a
    # regional inference profile may be priced differently (us./eu. carry an uplift).
    for cand in list(out):
        for variant in _bedrock_version_variants(cand.name):
            add(Candidate(variant, "bedrock_version", cand.hint))
    for cand in list(out):
        for variant in _bedrock_region_variants(cand.name):
            add(Candidate(variant, "bedrock_region", cand.hint))
    for cand in list(out):
        base = strip_date(cand.name)
        if base:
            add(Candidate(base, "dated_snapshot_base", cand.hint))
    return out
