"""The text module against Debian's Python, code point by code point (issue 8.3).

Django's UnicodeUsernameValidator is `^[\\w.@+-]+\\Z` and normalize_username is NFKC: our
`\\w` (lib/core/text.c on GNU libunistring) and our NFKC must agree with this Python's for every
code point, or a username Django accepts would be refused here (or the other way round)."""
import re
import subprocess
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "tests" / "unit" / "test_text"


def ours():
    subprocess.run(["make", "-s", "-C", str(ROOT), "tests/unit/test_text"], check=True)
    out = subprocess.run([str(BINARY), "--dump"], check=True, capture_output=True, text=True)
    word, nfkc = set(), {}
    for line in out.stdout.splitlines():
        kind, cp, *rest = line.split()
        if kind == "w":
            word.add(int(cp, 16))
        else:
            nfkc[int(cp, 16)] = bytes.fromhex(rest[0]).decode("utf-8")
    return word, nfkc


def test_word_characters_and_nfkc_match_python():
    word, nfkc = ours()
    w = re.compile(r"\w")
    py_word, py_nfkc = set(), {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if w.match(c):
            py_word.add(cp)
        n = unicodedata.normalize("NFKC", c)
        if n != c:
            py_nfkc[cp] = n
    assert len(py_word) > 100000   # the comparison is over real tables
    assert sorted(word ^ py_word)[:20] == []
    differ = [hex(cp) for cp in set(nfkc) | set(py_nfkc) if nfkc.get(cp) != py_nfkc.get(cp)]
    assert sorted(differ)[:20] == []
