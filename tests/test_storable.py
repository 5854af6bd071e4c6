"""Strings made storable: NUL and lone surrogates replaced, everything else kept."""

from __future__ import annotations

import orjson

from llmledger.storable import REPLACEMENT, storable, storable_text


def test_nul_replaced_in_ascii_and_unicode_text():
    assert storable_text("a\x00b") == f"a{REPLACEMENT}b"
    assert storable_text("é\x00") == f"é{REPLACEMENT}"


def test_lone_surrogates_replaced_and_pairs_joined():
    raw = b"caf\xff".decode("utf-8", errors="surrogateescape")  # 'caf\udcff'
    assert storable_text(raw) == f"caf{REPLACEMENT}"
    assert storable_text("\ud83d\ude00!") == "\U0001f600!"  # a pair written as two characters
    assert storable_text("x\ud83d") == f"x{REPLACEMENT}"


def test_clean_values_are_returned_as_given():
    text = "déjà vu"
    tree = {"a": [1, "b", {"c": text}], "d": (2.5, None)}
    assert storable_text(text) is text
    assert storable(tree) is tree


def test_a_tree_is_made_encodable_keys_included():
    tree = {"na\x00me": ["ok", "\udc80"], "t": ("x\x00",), "n": 3}
    clean = storable(tree)
    assert clean == {
        f"na{REPLACEMENT}me": ["ok", REPLACEMENT],
        "t": (f"x{REPLACEMENT}",),
        "n": 3,
    }
    assert orjson.loads(orjson.dumps(clean))[f"na{REPLACEMENT}me"] == ["ok", REPLACEMENT]
    assert tree["na\x00me"] == ["ok", "\udc80"]  # the caller's value is not changed
