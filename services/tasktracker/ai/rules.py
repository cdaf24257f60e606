"""Features that carry the labelling rules for priority and actionable (labelling rules v2).

N-grams see words; the rules are about impact, time pressure, hedges and whether a question asks
someone to do work. Each feature here is one cue of a rule, matched in English, Ukrainian and Russian
(including common transliterations and stems), and is fed to the built-in model next to the TF-IDF
columns (see `builtin.py`). `question_needs_work` is the actionable rule for questions on its own.
"""

from __future__ import annotations

import re

import numpy as np

from tasktracker.ai import text as text_helpers


def _cue(*patterns: str) -> re.Pattern[str]:
    # Matched against `text.normalise` output, which is already case-folded (so no IGNORECASE, which
    # makes Unicode matching several times slower).
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Impact: something is down or broken for many, money, data or security is at stake.
_OUTAGE = _cue(
    r"\b(?:is|are|went|goes) down\b",
    r"\boutage\b",
    r"\b50[0234]s?\b",
    r"white screen",
    r"nobody can|no one can|can'?t (?:log ?in|reach|open|access)",
    r"for (?:every(?:one|body)|all (?:users|customers|clients))",
    r"\b(?:timing|times) out\b",
    r"лежить|лежит|упав|упал|впала|впал|легла|лег\b|ліг\b|не працює|не работает|біла сторінка|белый экран",
    r"ніхто не може|никто не может|не може(?:мо)? зайти|не могут (?:войти|зайти)",
    r"у всіх|у всех|для всіх|для всех",
)
_MONEY = _cue(
    r"charg(?:ed|ing|es)|double|refund|money|invoice|payment|billing|revenue|\$\d",
    r"списа|спису|гроші|грошей|деньг|рахун|счет|сч[её]т|оплат|платеж|платіж|білінг|биллинг",
)
_SECURITY_DATA = _cue(
    r"leak|exposed|security|secur|compromis|breach|vulnerab|pushed to (?:a )?public|public repo",
    r"data loss|lost (?:all|the) data|deleted|wiped|dropped|silently (?:drops?|loses?|fails?)|backups? (?:haven'?t|didn'?t|did not|failed)",
    r"other (?:customers?|users?|tenants?)'? data|without being an admin",
    r"витік|витекл|утечк|утек|скомпромет|безпек|безопасн|зникл|пропал|удалил|видалил|дропнул|чужі|чужие",
    r"мовчки (?:обрізає|губить|падає)|молча (?:обрезает|теряет|падает)|бекапи? не|бэкапы? не",
)
_PROD = _cue(r"\bprod(?:uction)?\b", r"\bпрод", r"на проді|на проде")
_SCALE = _cue(
    r"\b(?:every(?:one|body)|all (?:users|customers|clients)|customers|clients|users|nobody)\b",
    r"\b\d+k?\s*(?:users|customers|people|events|complaints|subscriptions)\b",
    r"клієнт|клиент|користувач|пользовател|всі|усі|все\b|ніхто|никто|людей|людини",
)
# Time pressure.
_NOW = _cue(
    r"\b(?:now|rn|asap|immediately|right away|urgent(?:ly)?|emergency)\b",
    r"since (?:this morning|\d{1,2}[:.]\d{2}|an hour|\d+ ?(?:min|minutes|hours?))|for (?:the last )?\d+ ?(?:min|minutes|hours?)|(?:still |keeps? )firing|and (?:climbing|growing)",
    r"🔥|🚨|!!!",
    r"терміново|срочно|негайно|немедленно|зараз|сейчас|прямо зараз|прямо сейчас|аварі|экстрен|екстрен",
    r"з (?:самого )?ранку|с (?:самого )?утра|вже \d+ ?хв|уже \d+ ?мин|з \d{1,2}[:.]\d{2}|с \d{1,2}[:.]\d{2}|горить уже|горит уже",
)
_TODAY_TOMORROW = _cue(
    r"\b(?:today|tonight|tomorrow|eod|end of (?:the )?day|this morning|before noon|in an hour|in \d+ (?:min|hours?))\b",
    r"\bby \d{1,2}[:.]\d{2}\b|\bbefore \d{1,2}[:.]\d{2}\b|до \d{1,2}[:.]\d{2}",
    r"сьогодні|сегодня|завтра|до кінця дня|до конца дня|до обіду|до обеда|через годину|через час",
)
_DAYS = _cue(
    r"\b(?:this|next) week\b|\bin \d+ days\b|\bby (?:mon|tues|wednes|thurs|fri)day\b|\bon (?:mon|tues|wednes|thurs|fri)day\b",
    r"\b(?:mon|tues|wednes|thurs|fri)day\b|\bby the \d+(?:st|nd|rd|th)\b|\bdeadline\b|\bdue\b",
    r"\b\d{1,2}[./]\d{1,2}\b",
    r"п'ятниц|пятниц|понеділ|понедельник|середи|сред[уы]|четвер|вівтор|вторник|цього тижня|на цьому тижні|на этой неделе",
    r"через \d+ (?:дн|дні)|до \d+-?го|дедлайн",
)
_HEDGE = _cue(
    r"not a blocker|not urgent|no rush|at some point|some ?day|when(?:ever)? you (?:have|get) (?:the )?time",
    r"\bjk\b|\bwhenever\b|not a big deal|just curious|\bminor\b|no biggie|low prio",
    r"жартую|шучу|просто цікаво|просто интересно|не страшно|дрібниця|мелочь|не горить",
    r"nice to have|would be nice|low priority|eventually|no hurry|when you can\b|not critical",
    r"не блокер|не терміново|не срочно|не горить|не горит|колись|когда-нибудь|коли буде час|як буде час",
    r"когда будет время|как будет время|було б добре|было бы неплохо|было бы круто|було б круто|не критично",
)
_COSMETIC = _cue(
    r"typo|misalign|pixel|padding|margin|font|colou?r|tooltip|cosmetic|icon|spacing|alignment",
    r"опечатк|друкарськ|відступ|отступ|шрифт|колір|цвет|іконк|иконк|тултип|підказк|криво",
)
_BLOCKING = _cue(
    r"\bblock(?:s|ed|ing|er)\b|\bcan'?t (?:merge|deploy|release|work)\b|\bstuck\b",
    r"заблоков|заблокир|блокує|блокирует|не можу працювати|не могу работать|не можемо|не можем",
)
_AFTER_RELEASE = _cue(
    r"after (?:the |today'?s |yesterday'?s |last )?(?:release|deploy|update|upgrade)|since (?:the )?(?:release|deploy)",
    r"crash|spike|regression|exception|traceback|error rate",
    r"після (?:релізу|деплою|оновлення|викатки)|после (?:релиза|деплоя|обновления|выкатки)",
    r"краш|падає|падает|вилітає|вылетает",
)
# Someone outside the team waits on it with a date, or the work has a stated consequence.
_WAITING = _cue(
    r"(?:customer|client|auditor|legal|bank|partner|they)(?:s)? (?:is |are )?(?:waiting|asking|expects?|needs?)",
    r"\b(?:or|otherwise) (?:we|they|salaries|every|the)\b|\bwe (?:lose|fail|miss)\b|lose the deal|fail the",
    r"(?:клієнт|аудитор|юрист|банк|партнер)\w* (?:чека|пита|прос|вимага)|(?:клиент|аудитор|юрист|банк|партн[её]р)\w* (?:жд[её]т|спрашива|прос|требу)",
    r"інакше|иначе|без (?:цього|нього|неї|этого|него|неё) не|сорв[её]тся|зірветься|втратимо|потеряем",
)
_WORKAROUND = _cue(
    r"workaround|work ?around|only (?:for|on|in) (?:one|some|a few)|some users|one customer|rarely|sometimes",
    r"обхід|обход|іноді|иногда|у одного|в одного|деяких|некоторых",
)
# A question that asks someone to do work: check, look up, grant, investigate.
_ASKS_FOR_WORK = _cue(
    r"\b(?:can|could|would|will) (?:someone|somebody|anyone|anybody|you|u|one of you|someone with [\w ]+?)\b"
    r"[\w ,]{0,20}?\b(?:check|look|have a look|take a look|verify|confirm|give|grant|add|pull|find out|dig|investigate|"
    r"tell me (?:if|whether|why|how much|how many)|see (?:if|whether|why)|export|restore|reset|enable|run)\b",
    r"\bwho can (?:give|grant|add|approve|check|confirm|restore|reset|enable|unlock|share)\b",
    r"\b(?:someone|somebody|anyone) with (?:prod|admin|access)\b",
    r"\bis (?:someone|anyone) able to\b|\banyone able to\b",
    r"\bdid (?:the |our |last night'?s |yesterday'?s |today'?s )?[\w -]+ (?:finish|run|complete|succeed|go through|pass)\b",
    r"\bis (?:the |our )?[\w-]+ (?:job |backup |deploy |migration |export |sync )?(?:still )?(?:running|done|finished|stuck)\b",
    r"\b(?:someone|somebody|anyone|anybody) (?:pls |please )?(?:check|look|verify|confirm|grant|give)\b",
    r"\bwho could (?:give|grant|add|approve|check|confirm|restore|reset|enable|unlock|share)\b",
    r"можете (?:перевірити|глянути|подивитися|подивитись|видати|дати|додати|проверить|глянуть|посмотреть|выдать|дать|добавить)",
    r"чи (?:пройшов|пройшла|відпрацював|відпрацювала|завершився|завершилась)|(?:прошел|прошла|отработал|отработала|завершился|завершилась) ли",
    r"\bneed (?:the )?(?:logs|access)\b|\bdoes something still\b|\bstill read",
    r"хтось (?:може|можете|з доступом)[\w ,]{0,20}?(?:перевір|глян|подив|видат|дат|дода|підтверд|з'ясу|дізна|вивант)",
    r"хто може (?:видати|дати|додати|погодити|перевірити|підтвердити|відновити)",
    r"кто(?:-нибудь|-то)? (?:может|с доступом)[\w ,]{0,20}?(?:провер|глян|посмотр|выда|дат|добав|подтверд|выясн|узна|выгруз)",
    r"кто может (?:выдать|дать|добавить|согласовать|проверить|подтвердить|восстановить)",
    r"гляньте|подивіться|посмотрите|перевірте|проверьте|можете глянути|можете посмотреть|можна (?:дізнатись|вивантажити)|можно (?:выгрузить|узнать)",
    r"в кого є доступ|у кого есть доступ|треба глянути логи|нужны логи|хтось читає|кто-то читает|ще хтось|еще кто-то",
    r"\b(?:does |do )?(?:anyone|someone|anybody) (?:have|has|got) access\b|\bany chance (?:someone|somebody|anyone|you)\b",
    r"\bmind (?:checking|looking|taking a look|having a look|pulling|resetting)\b|\bhas (?:anyone|someone|anybody) (?:checked|looked)\b",
    r"\bstill (?:running|going|receiving|syncing)\b.{0,30}\bor\b|\bor did it (?:die|fail|crash|stop)\b",
    r"\b(?:reset|unlock|restore|re-?run|rerun) (?:the |her |his |their |my )?[\w-]+ for\b",
    r"(?:хтось|хто-небудь) (?:перевіряв|дивився)|(?:кто-нибудь|кто-то) (?:проверял|смотрел)",
    r"(?:хтось|хто-небудь) з (?:адмінів|девопсів|доступом)|(?:кто-нибудь|кто-то) из (?:админов|девопсов)|с доступом",
    r"(?:ще|досі) (?:йде|працює|крутиться).{0,20}чи|(?:ещ[её]|до сих пор) (?:ид[её]т|работает|крутится).{0,20}или",
    r"(?:можеш|можете|можешь) (?:сказати|сказать|підказати|подсказать|глянути|глянуть),? (?:скільки|сколько|чи|ли)",
    r"(?:скинути|скинь|сбросить|сбрось|відновити|восстановить|перезапустити|перезапустить) \w+ (?:для|ольг|ему|ей|їй|йому)",
)
_QUESTION = _cue(
    r"\?|^(?:who|what|where|when|why|how|is|are|do|does|did|can|could|which)\b",
    r"^(?:хто|що|де|коли|чому|як|чи|кто|что|где|когда|почему|как)\b",
)

CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("outage", _OUTAGE),
    ("money", _MONEY),
    ("security_or_data", _SECURITY_DATA),
    ("prod", _PROD),
    ("scale", _SCALE),
    ("now", _NOW),
    ("today_or_tomorrow", _TODAY_TOMORROW),
    ("within_days", _DAYS),
    ("hedge", _HEDGE),
    ("cosmetic", _COSMETIC),
    ("blocking", _BLOCKING),
    ("after_release_or_crash", _AFTER_RELEASE),
    ("workaround_or_limited", _WORKAROUND),
    ("customer_waiting_or_consequence", _WAITING),
    ("asks_for_work", _ASKS_FOR_WORK),
    ("question_form", _QUESTION),
)
FEATURE_NAMES = tuple(name for name, _ in CUES)


def rule_features(text: str, *, normalised: bool = False) -> np.ndarray:
    """One 0/1 value per cue in `CUES` (pass `normalised=True` when `text` is `text.normalise` output)."""
    if not normalised:
        text = text_helpers.normalise(text)
    return np.array([1.0 if pattern.search(text) else 0.0 for _, pattern in CUES], dtype=np.float32)


ASKS_FOR_WORK = FEATURE_NAMES.index("asks_for_work")


def question_needs_work(text: str) -> bool:
    """The actionable rule for questions: the answer needs someone to check, look up, grant or investigate."""
    return _ASKS_FOR_WORK.search(text_helpers.normalise(text)) is not None
