#!/usr/bin/python3
"""Regenerates adversarial-golden.jsonl with the reference SentencePiece library.

Run from this directory with Debian's python3-sentencepiece (apt-get install
python3-sentencepiece; version 0.1.97 was used):

    /usr/bin/python3 make_golden.py ../../../../../../shared/testdata/t5/spiece.model > adversarial-golden.jsonl

Each line is {"text": ..., "ids": [...]}, or {"hex": ..., "ids": [...]} when
the input is not valid UTF-8 (the bytes, hex-encoded). The ids follow Hugging
Face's T5 tokenizer: the special tokens <pad>, </s>, <unk> and <extra_id_N>
(N = 0..99, id 32099 - N) are split out of the raw text first (leftmost,
longest match), SentencePiece encodes each stretch between them, and </s>
(id 1) is appended. Only the splitting is written here; every id of the text
between special tokens comes from SentencePiece itself.
"""
import json
import random
import sys

import sentencepiece

EXTRA_IDS = 100


def main():
    sp = sentencepiece.SentencePieceProcessor(model_file=sys.argv[1])
    size = sp.get_piece_size()
    specials = {sp.id_to_piece(i): i for i in range(size) if sp.is_control(i) or sp.is_unknown(i)}
    for n in range(EXTRA_IDS):
        specials[f"<extra_id_{n}>"] = size + EXTRA_IDS - 1 - n
    by_len = sorted(specials, key=len, reverse=True)

    def encode(data: bytes):
        ids, start, i = [], 0, 0
        while i < len(data):
            hit = next((s for s in by_len if data.startswith(s.encode(), i)), None)
            if hit is None:
                i += 1
                continue
            if i > start:
                ids += sp.encode(data[start:i])
            ids.append(specials[hit])
            i += len(hit.encode())
            start = i
        if start < len(data):
            ids += sp.encode(data[start:])
        return ids + [1]

    for case in cases():
        data = case if isinstance(case, bytes) else case.encode()
        try:
            rec = {"text": data.decode()}
        except UnicodeDecodeError:
            rec = {"hex": data.hex()}
        rec["ids"] = encode(data)
        print(json.dumps(rec, ensure_ascii=False))


def cases():
    fixed = [
        # empty and whitespace only
        "", " ", "\t", "\n\n", "\u3000", "\u00a0", "\u3000 \u00a0\t\r\n",
        # odd whitespace between, before and after words
        "a\u3000b", "a\u00a0\u00a0b", "\u3000lead", "trail\u3000", "a\u2003b\u2009c\u200ad",
        "a\u2028b\u2029c", "a\u0085b", "a\u1680b", "a\u202fb\u205fc", "a\x0bb\x0cc",
        "line1\r\nline2\rline3\n", "\r\n\r\n", "x \r\n y",
        # zero-width and format characters
        "zero\u200bwidth", "a\u200cb\u200dc", "\ufeffbom", "soft\u00adhyphen", "\u2060word\u2060",
        "\u200b", "\u200b \u200b", "rtl\u200fmark\u200e",
        # control characters, NUL included
        "a\x00b", "\x00", "bell\x07tab\x08", "del\x7f", "c1\x80\x9fend", "\x1b[31mred\x1b[0m",
        # NFKC-relevant forms
        "ｶﾀｶﾅ ﾊﾟﾝ", "①②③ ⑩ ⑳", "㍿ ㌔ ㎏ ㎡", "ℌℍℕ ℵ", "\u212b \u2126 \u212a", "e\u0301 a\u0308 o\u0302",
        "Å vs A\u030a", "ﬀ ﬃ ﬄ ﬅ ﬆ", "x² y³ z⁴ H₂O", "½ ¼ ¾ ⅓", "™ ℠ ©", "！？（）［］｛｝", "ＡＢＣ ａｂｃ ０１２",
        "Ⅻ ⅻ", "ǅ ǈ ǋ", "ſ ẞ ß", "İstanbul ı", "Ω ω µ μ", "\u1e9b\u0323", "한\u1100\u1161", "…‥", "‐‑‒–—―",
        "«guillemets» ‹single›", "„low“ ‚low‘", "°C ℃ ℉", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        # emoji, including joiners, modifiers and flags
        "😀", "😀😀😀", "a😀b", "👨\u200d👩\u200d👧\u200d👦 family", "👍🏽 ok", "🇺🇸🇫🇷", "❤️ ❤", "#️⃣ 1️⃣",
        "🎉 party 🎉", "\U0001f9ea\U0001fae0",
        # CJK and other scripts
        "漢字かなカナ", "中文 日本語 한국어", "ภาษาไทย", "हिन्दी", "ქართული", "Ελληνικά", "Русский текст",
        # special tokens: alone, adjacent to words, near misses
        "<pad>", "</s>", "<unk>", "<pad></s><unk>", "<extra_id_0><extra_id_99>", "<extra_id_5>",
        "foo<extra_id_5>bar", "foo <extra_id_5> bar", "foo<extra_id_5> bar", "<extra_id_5><extra_id_6>",
        "<extra_id_100>", "<extra_id_05>", "<extra_id_>", "< pad>", "<PAD>", "<pad", "pad>", "<<pad>>",
        "</s></s>", " </s> ", "\u3000<pad>\u3000x", "x<unk>y", "<extra_id_1>\u200b<extra_id_2>",
        "<pad> Determine if the hypothesis is true given the premise?\n\nPremise: \u3000\n\nHypothesis: ",
        # punctuation, numbers, code
        "3.14159265358979323846", "1,234,567.89", "-0.5e-10", "0x1F 0b1010", "a_b_c __init__",
        "def f(x):\n    return x**2  # square", "<html><body class=\"x\">&amp;&lt;</body></html>",
        "$$\\frac{a}{b}$$", "C:\\Users\\name", "~`!@#$%^&*()-_=+[]{}|;:'\",.<>/?",
        # tie-heavy repetitions
        "gggggggg", "g" * 33, "ab" * 20, "aaaa aaaa", "ssss", "....", "----------", "=====", "!!!!!!",
        "lalalalalala", "hahahahahahahaha", "nananananana batman",
    ]
    yield from fixed
    # Long words and long runs.
    yield "a" * 10000
    yield "x" * 10000
    yield "😀" * 2000
    yield "漢" * 3000
    yield "Pneumonoultramicroscopicsilicovolcanoconiosis" * 220
    yield " ".join(["word"] * 2000)
    yield "1234567890" * 1000
    # Invalid UTF-8.
    for b in [b"\xff", b"abc\xc3", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
              b"ok \xfe\xfe ok", b"\xe2\x82", b"a\x80b", b"<pad>\xff</s>", b"\xef\xbf\xbd",
              b"caf\xe9", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80\x80"]:
        yield b
    # Random strings: seeded, so the file is reproducible.
    rng = random.Random(20240601)
    alphabets = [
        "ga ",
        "gab ",
        "abcdefghijklmnopqrstuvwxyz      ",
        "aeiouAEIOU.,!? \t\n",
        "0123456789.,- ",
        list("aéèêëçœæ ÀÉ\u0301\u0308") ,
        list("😀🎉👍🏽\u200d\u200b\u3000\u00a0 ab"),
        list("漢字かなカナ한국어 ab.,"),
        list("ｶﾀﾅＡＢ１２①②ﬁﬂ™½ ") ,
        ["<pad>", "</s>", "<unk>", "<extra_id_3>", "<extra_id_42>", "word", " ", "x", "\u3000", "\n", "<", ">"],
    ]
    for k in range(600):
        alphabet = alphabets[k % len(alphabets)]
        n = rng.randint(1, 60)
        yield "".join(rng.choice(alphabet) for _ in range(n))
    # Random code points from the whole of Unicode (no surrogates).
    for _ in range(200):
        n = rng.randint(1, 20)
        chars = []
        while len(chars) < n:
            cp = rng.choice([rng.randint(0x20, 0x7F), rng.randint(0xA0, 0x2FFF), rng.randint(0x3000, 0xFFFF),
                             rng.randint(0x10000, 0x10FFFF)])
            if not 0xD800 <= cp <= 0xDFFF:
                chars.append(chr(cp))
        yield "".join(chars)
    # Random bytes.
    for _ in range(100):
        yield bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 24)))


if __name__ == "__main__":
    main()
