"""A small English/Ukrainian/Russian lexicon of a software team's words, for duplicate detection.

A second person restating a request uses other words, often in another language: "export to excel is
broken" / "експорт в ексель не працює" / "ne rabotaet eksport v eksel". `concept_tokens` maps each word
(already transliterated to Latin letters by `duplicates.latin`) to a concept when a prefix of the
lexicon matches, so those three become the same tokens (EXPORT, EXCEL, BROKEN). Words the lexicon does
not know stay as they are (their 5-letter stem), so names, identifiers and numbers still count.

Some concepts fill a **slot** (`SLOTS`): two texts that name different members of one slot group
(excel / pdf, android / ios, staging / prod, import / export) are different requests however close the
rest is, which `slot_conflict` reports. The lexicon is hand-written from the labelling rules of the
duplicate sets (docs/classification.md); a prefix is matched at the start of a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Spellings that people's transliterations disagree on (kh/h, ia/ya/ja, shch/sch, y/j/i) meet.
_VARIANTS = ((re.compile(r"kh"), "h"), (re.compile(r"[ij]a"), "ya"), (re.compile(r"[ij]u"), "yu"),
             (re.compile(r"shch"), "sch"), (re.compile(r"[yj]"), "i"))  # fmt: skip


def fold_variants(word: str) -> str:
    """`word` (Latin letters) with the common transliteration variants made equal."""
    for pattern, replacement in _VARIANTS:
        word = pattern.sub(replacement, word)
    return word


# concept: Latin-letter prefixes (English, and Ukrainian/Russian after `duplicates.latin`).
# fmt: off
_LEXICON: dict[str, tuple[str, ...]] = {
    # what is broken, and how
    "BROKEN": ("broke", "brok", "doesnt", "nepratsu", "nerabota", "rabota", "pratsu", "zlama", "slom", "fail", "padae", "padaet", "pada", "upal", "upav", "vpal", "kaput"),
    "CRASH": ("crash", "vilit", "vylet", "krash", "kresh"),
    "SLOW": ("slow", "forever", "lag", "tormoz", "galm", "dovgo", "dovho", "dolgo", "povil", "medlen"),
    "ERROR": ("error", "pomil", "oshib", "exception", "iskl"),
    "EMPTY": ("empty", "blank", "porozh", "pust", "nothing", "nichog", "nichego"),
    "MISSING": ("missing", "disappear", "gone", "znik", "propa", "propal"),
    "TWICE": ("twice", "double", "duplicat", "dvichi", "dvazhd", "dubl"),
    "EXPIRED": ("expir", "prosroch", "prostr", "protuh", "protukh", "prostroch", "istek", "isteka", "sprav"),
    "WRONG": ("wrong", "incorrect", "nepravil"),
    "STUCK": ("stuck", "hang", "freez", "zavis", "zavys", "zaviss"),
    "LOOP": ("loop", "back", "obratn", "vozvrash", "redirect", "tsikl", "cikl", "povert"),
    "NOT_ARRIVE": ("arriv", "receiv", "deliver", "prihod", "prikhod", "pryhod", "dohod", "dokhod"),
    "ALREADY": ("already", "vzhe", "uzhe"),
    "STILL": ("still", "dosi"),
    "AGAIN": ("again", "znovu", "opyat", "opiat", "snova"),
    # things
    "EXPORT": ("export", "eksport", "vivant", "vygruz", "vigruz"),
    "IMPORT": ("import",),
    "UPLOAD": ("upload", "zavantazh", "zagruz"),
    "DOWNLOAD": ("download", "skacha", "skach"),
    "EXCEL": ("excel", "eksel", "xlsx"),
    "CSV": ("csv",),
    "PDF": ("pdf",),
    "FILE": ("file", "faili", "faila", "failu"),
    "LOGIN": ("login", "signin", "vhid", "vhod", "vkhod", "vkhid", "loginu", "zaiti", "uviit", "uvii", "voiti", "avtoriz", "auth"),
    "LOGOUT": ("logout", "vibiva", "vykidyva", "vikidiva", "vylog"),
    "PASSWORD": ("password", "parol"),
    "RESET": ("reset", "skid", "sbros", "skyd"),
    "LINK": ("link", "posilan", "ssilk", "ssylk"),
    "EMAIL": ("email", "mail", "pisma", "pismo", "listi"),
    "NOTIFICATION": ("notif", "uvedoml", "spovisch", "alert", "alerti"),
    "TELEGRAM": ("telegram", "tg"),
    "SLACK": ("slack",),
    "SEARCH": ("search", "poshuk", "poisk", "find", "nahod", "nakhod", "znahod", "znakhod"),
    "QUERY": ("query", "queri", "zapit", "zapro", "zapyt"),
    "FILTER": ("filter", "filtr"),
    "SORT": ("sort",),
    "BOARD": ("board", "doshk", "dosk", "kanban"),
    "DRAG": ("drag", "peretyag", "peretiag", "peretask", "move", "movin", "peremisch", "peremesch", "perenos"),
    "CARD": ("card", "kartk", "kartoch", "kartochk"),
    "TASK": ("task", "zadach", "zavdan", "tiket", "ticket"),
    "COMMENT": ("comment", "komentar", "kommentar"),
    "CALENDAR": ("calendar", "kalendar"),
    "WEEKDAY": ("monday", "tuesday", "wednesday", "thursday", "friday", "ponedil", "ponedel", "vivtor", "vtornik", "sered", "sred", "chetver", "piatnits", "pyatnits", "piatn"),
    "MORNING": ("morning", "ranok", "ranku", "utro", "utra"),
    "RIGHT": ("right", "vprav", "sprava"),
    "SHIFTED": ("shift", "zizhdzh", "zyizhdzh", "zizhd", "sieha", "sezha", "sezzha", "poihal", "poehal"),
    "DATE": ("date", "dati", "daty", "deadline", "dedlain", "srok", "termin"),
    "TIMEZONE": ("timezone", "utc", "chasov", "poyas", "poias"),
    "BROWSER": ("browser", "brauz"),
    "WARNING": ("warning", "warn", "lait", "laiets", "rugaet", "poperedzh", "preduprezh"),
    "PAGE": ("page", "storin", "stranits", "stranic", "screen", "ekran"),
    "BUTTON": ("button", "knop"),
    "DARK_MODE": ("dark", "temn", "tyomn"),
    "THEME": ("theme", "mode", "tema", "temu", "rezhim"),
    "SHORTCUT": ("shortcut", "hotkey", "keyboard", "garyach", "goryach", "klavish", "klavis"),
    "INVOICE": ("invoice", "rahun", "schet", "schot", "bill"),
    "VAT": ("vat", "pdv", "nds"),
    "PAYMENT": ("payment", "checkout", "kasa", "kassa", "oplat", "platizh", "platezh", "pay"),
    "CHARGE": ("charg", "spisa", "spisu", "spysu", "spys"),
    "REFUND": ("refund", "povern", "vozvrat", "vernu"),
    "DISCOUNT": ("discount", "znizhk", "skidk"),
    "PRICE": ("price", "tsin", "cen"),
    "REPORT": ("report", "zvit", "otchet", "otchot"),
    "DASHBOARD": ("dashboard", "dashbord"),
    "CERTIFICATE": ("cert", "sertif", "ssl", "tls"),
    "DOMAIN": ("domain", "domen"),
    "RENEW": ("renew", "prodov", "prodl", "onovit", "onovi", "obnovit", "obnovi", "update", "upgrad"),
    "REFRESH": ("refresh", "onovlyu", "onovliu", "obnovlya", "reload", "perezavant", "perezagruz"),
    "BACKUP": ("backup", "bekap", "bakap"),
    "DATABASE": ("database", "db", "baz", "postgres", "replica", "replik"),
    "DISK": ("disk",),
    "USAGE": ("usage", "zapovn", "zapoln", "vikoris", "ispolz"),
    "HOST": ("host",),
    "SET_UP": ("setup", "nalasht", "nastro"),
    "MEMORY": ("memory", "pamyat", "pamiat", "oom", "ram"),
    "ACCESS": ("access", "dostup", "permission", "prava"),
    "ROTATION": ("rotation", "oncall", "rotats", "chergu", "dezhur"),
    "AUDIT_LOG": ("audit", "zhurnal"),
    "CHANGES": ("change", "zmin", "izmen", "history", "istori"),
    "USERS": ("user", "every", "usih", "usikh", "vsih", "vsikh", "korist", "polzov", "people", "lyud", "liud", "everyone", "vsi", "vse", "vseh"),
    "CUSTOMER": ("customer", "client", "klient"),
    "CONTACT": ("contact", "kontakt"),
    "INVITE": ("invit", "zaproshen", "priglash", "zaprosh"),
    "SPAM": ("spam",),
    "APP": ("app", "zastosun", "prilozh", "prylozh"),
    "CHAT": ("chat", "chatu", "chate"),
    "PHOTO": ("photo", "foto", "image", "zobrazh", "izobrazh", "kartink"),
    "BIG": ("big", "large", "veli", "bolsh", "bilsh", "huge"),
    "PROJECT": ("project", "proekt", "proiekt"),
    "SIZE_MB": ("mb", "megabyt", "mbait", "mbayt"),
    "QUEUE": ("queue", "cherg", "ochered"),
    "WORKER": ("worker", "vorker"),
    "DEPLOY": ("deploy", "deplo", "release", "reliz", "vikat", "vykat"),
    "BUILD": ("build", "bild", "sbork", "zbirk"),
    "TEST": ("test",),
    "LOGS": ("logs", "logah", "logakh", "logi"),
    "ADD": ("add", "would", "great", "nice", "pls", "please", "doda", "dobav", "need", "potribn", "nuzhn", "want", "hoch", "khoch"),
    "REMOVE": ("remov", "delet", "pribe", "prybe", "uber", "vidal", "udal"),
    "GOOGLE": ("google", "gugl"),
    "GITHUB": ("github",),
    "SAFARI": ("safari", "safar"),
    "CHROME": ("chrome", "hrom", "khrom"),
    "FIREFOX": ("firefox",),
    "ANDROID": ("android", "andro"),
    "IOS": ("ios", "iphone", "aifon"),
    "STAGING": ("staging", "stage", "steidzh", "steyd", "stagi", "steydzh", "steidzhi"),
    "PROD": ("prod", "production"),
    "MOBILE": ("mobile", "mobil"),
    "DESKTOP": ("desktop",),
}
# fmt: on
# Slot groups: different members on the two sides mean different requests.
SLOTS: tuple[frozenset[str], ...] = (
    frozenset({"EXCEL", "CSV", "PDF"}),
    frozenset({"IMPORT", "EXPORT"}),
    frozenset({"UPLOAD", "DOWNLOAD"}),
    frozenset({"ANDROID", "IOS"}),
    frozenset({"SAFARI", "CHROME", "FIREFOX"}),
    frozenset({"STAGING", "PROD"}),
    frozenset({"GOOGLE", "GITHUB"}),
    frozenset({"TELEGRAM", "SLACK", "EMAIL"}),
    frozenset({"ADD", "REMOVE"}),
    frozenset({"SLOW", "CRASH", "EMPTY", "TWICE", "SPAM", "EXPIRED"}),
    frozenset({"MOBILE", "DESKTOP", "DASHBOARD"}),
    frozenset({"DISK", "MEMORY"}),
)
_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        ((fold_variants(prefix), concept) for concept, prefixes in _LEXICON.items() for prefix in prefixes),
        key=lambda pair: -len(pair[0]),
    )
)


# The letters a prefix starts with: a word starting otherwise (a number, an id) has no concept, found
# without the scan or a place in its cache (every message's own number would fill it: measured as a
# worker's memory growing ~10 MB over a 10-minute soak).
_FIRST_LETTERS = frozenset(prefix[0] for prefix, _ in _PREFIXES)


def concept_of(word: str) -> str | None:
    """The concept whose longest prefix starts `word` (a Latin-letter word), if any."""
    return _concept_of(word) if word[:1] in _FIRST_LETTERS else None


@lru_cache(maxsize=65536)  # a scan of every prefix; the same words come back in every message
def _concept_of(word: str) -> str | None:
    for prefix, concept in _PREFIXES:
        if word.startswith(prefix) and (len(prefix) >= 3 or word == prefix):
            return concept
    return None


def concept_tokens(latin_words: Iterable[str]) -> frozenset[str]:
    """Each word as its concept, or as its 5-letter stem when the lexicon does not know it."""
    out = set()
    for word in latin_words:
        concept = concept_of(word)
        out.add(concept if concept is not None else (word[:5] if word.isalpha() else word))
    return frozenset(out)


def slot_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both texts name a member of one slot group, and not the same ones."""
    for group in SLOTS:
        ours, theirs = a & group, b & group
        if ours and theirs and ours != theirs:
            return True
    return False
