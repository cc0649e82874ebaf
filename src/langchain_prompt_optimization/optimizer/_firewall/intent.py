"""Intent by structure: concepts found by word look-up, and the combinations that hold text.

The rule tables (`rules.py`) read English and eight languages phrase by phrase. This module
reads intent the other way round, in any of the languages its lexicon covers: each word of
the normalized text is looked up (a dict, so linear in the text) and tagged with the
concepts it names — a directive to ignore, the prompt's rules, a request to disclose,
a protected secret, an authority (admin, IT, security team), an approval, a tool, a
permission change (skip confirmation, without asking, always allow), money — and a finding
is the *combination*: ignore + rules, disclose + secret, an authority claim + a tool name or
a permission change, a permission change + money or a tool. A new paraphrase in a covered
language is caught when it combines the concepts, whatever words join them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer._firewall.text import _fold

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

__all__ = ["Concepts", "intent_findings", "read_concepts"]

# Lexicon: concept -> terms. "word*" is a stem (any ending), several words are a phrase.
# Terms are folded like the text (accents stripped, casefolded) when the table is built.
_LEXICON: dict[str, tuple[str, ...]] = {
    "ignore": (
        # nl pl sv da no tr vi id ro cs hu fi + es fr de it pt ru for phrasing the rules miss
        "negeer", "negeren", "vergeet", "vergeten", "zignoruj", "ignoruj*", "zapomnij",
        "pomiń", "pomijaj", "ignorer*", "glöm", "strunta i", "bortse fra", "ignorer",
        "glem", "görmezden gel", "göz ardı et", "yok say", "unut", "bỏ qua", "phớt lờ",
        "quên", "boşver", "boş ver", "umursama", "신경 쓰지", "따르지 마", "nie stosuj się",
        "nie słuchaj", "lyssna inte på", "ne suis pas", "no sigas", "não siga",
        "non seguire", "befolge nicht", "volg niet", "đừng tuân theo", "jangan ikuti",
        "لا تتبع", "मत मानो", "abaikan", "lupakan", "ignoră", "ignorați", "uită", "zapomeň",
        "ignoráld", "felejtsd el", "ohita", "unohda", "ignora", "ignorar", "olvida",
        "ignorez", "oublie", "oubliez", "ignoriere", "vergiss", "dimentica", "esqueça",
        "игнорируй", "забудь", "무시", "잊어", "잊고", "bortse från", "تجاهل", "انس",
        "अनदेखा", "भूल जा", "नज़रअंदाज़",
        "नजरअंदाज",
    ),
    "rules": (
        "instructie*", "instructies", "regel*", "richtlijn*", "instrukcj*", "zasad*",
        "polece*", "reguł*", "instruktion*", "regl*", "riktlinje*", "talimat*", "kural*",
        "yönerge*", "hướng dẫn", "quy tắc", "chỉ dẫn", "chỉ thị", "instruksi", "aturan",
        "petunjuk", "instrucțiuni*", "reguli*", "instrukce", "pravidla", "utasítás*",
        "szabály*", "ohje*", "sääntö*", "system prompt", "systeemprompt", "prompt",
        "promptu", "prompta", "promptun", "instrucciones", "reglas", "consignes", "règles",
        "anweisungen", "regeln", "istruzioni", "regole", "instruções", "regras",
        "инструкци*", "правил*", "지시", "지침", "규칙", "프롬프트", "التعليمات", "تعليمات",
        "القواعد", "قواعد", "निर्देश*", "नियम*", "प्रॉम्प्ट",
    ),
    "disclose": (
        "toon", "laat zien", "geef", "vertel", "herhaal", "onthul", "pokaż", "podaj",
        "wypisz", "powiedz", "ujawnij", "powtórz", "visa", "ge mig", "berätta", "upprepa",
        "avslöja", "skriv ut", "göster", "söyle", "ver", "yaz", "paylaş", "tekrarla",
        "açıkla", "hiển thị", "cho tôi xem", "cho xem", "tiết lộ", "in ra", "nói", "lặp lại",
        "tunjukkan", "berikan", "sebutkan", "ungkapkan", "arată", "spune", "ukaž", "řekni",
        "mutasd", "näytä", "kerro", "보여", "알려", "출력", "공개", "반복", "أظهر", "اعرض",
        "أعطني", "اكشف", "اطبع", "كرر", "أخبرني", "दिखा*", "बता*", "प्रकट", "दोहरा*",
    ),
    "password": (
        "wachtwoord*", "hasło", "hasła", "lösenord*", "şifre*", "parola*", "mật khẩu",
        "kata sandi", "parolă", "heslo", "jelszó*", "salasana*", "비밀번호", "암호",
        "كلمة المرور", "كلمة السر", "पासवर्ड", "contraseña", "mot de passe", "passwort",
        "senha", "пароль",
    ),
    "to_me": (
        "me", "mij", "mi", "mnie", "mig", "bana", "tôi", "나에게", "저에게", "나한테", "لي",
        "मुझे", "moi", "mir", "mim", "мне", "saya", "aku",
    ),
    "how": (
        "hoe", "jak", "hur", "nasıl", "cách", "방법", "كيفية", "كيف", "तरीका", "कैसे", "cómo",
        "comment", "wie", "come", "como", "как", "bagaimana", "cara",
    ),
    "secret": (
        "systeemprompt", "system prompt", "prompt*", "api key", "api-sleutel", "istem*",
        "lời nhắc hệ thống", "systeeminstructies", "instrukcje systemowe",
        "systeminstruktioner", "sistem talimat*", "hướng dẫn hệ thống", "시스템 지시",
        "تعليمات النظام", "सिस्टम निर्देश", "instrucciones del sistema",
        "instructions système", "systemanweisungen", "istruzioni di sistema",
        "instruções do sistema",
        "api-nyckel*", "klucz api", "api anahtar*", "khóa api", "credentials", "inloggegevens",
        "dane logowania", "inloggningsuppgifter", "kimlik bilgileri", "token*",
        "systemprompt", "prompt del sistema", "prompt système", "prompt di sistema",
        "prompt do sistema", "системн* промпт*", "시스템 프롬프트", "프롬프트",
        "api 키", "موجه النظام", "مفتاح api", "सिस्टम प्रॉम्प्ट", "एपीआई कुंजी",
    ),
    "authority": (
        "admin", "admins", "administrator", "administrators", "sysadmin", "it department",
        "it team", "it-afdeling", "it dept", "helpdesk", "help desk", "security team",
        "infosec", "compliance", "management", "manager", "supervisor", "boss", "ceo", "cfo",
        "cto", "ciso", "owner", "developers", "dev team", "operations team", "head of it",
        "it security", "system administrator", "officer", "security officer", "security",
        "head office", "headquarters", "support team",
        "director", "president", "founder", "devops", "platform team", "your developer",
        "your operator", "operators", "anthropic", "openai",
        "your developers", "your creators", "administrador", "jefe", "gerente", "dirección",
        "equipo de seguridad", "administrateur", "responsable",
        "service informatique", "équipe de sécurité", "chef", "vorgesetzte*",
        "geschäftsführung", "it-abteilung", "sicherheitsteam", "amministratore",
        "responsabile", "direzione", "chefe", "diretoria", "equipe de ti", "beheerder",
        "leidinggevende", "directie", "securityteam", "kierownik*", "szef*", "przełożon*",
        "dział it", "działu it", "administratora", "administratör*", "it-avdelningen",
        "säkerhetsteamet", "ledningen", "yönetici*", "müdür*", "bt ekibi", "it ekibi",
        "güvenlik ekibi", "quản trị viên", "quản trị", "quản lý", "giám đốc", "bộ phận it",
        "đội bảo mật", "관리자", "매니저", "보안팀", "보안 팀", "it팀", "المدير", "المسؤول",
        "الإدارة", "فريق الأمن", "व्यवस्थापक", "प्रबंधक", "एडमिन",
    ),
    "approved": (
        "authorised", "authorized", "authorises", "authorizes", "approved", "approves",
        "sanctioned", "signed off", "okayed", "ok'd", "mandated", "whitelisted", "cleared",
        "on behalf of", "on the orders of", "by order of", "instructed by",
        "requested by", "says", "said", "wants", "asked", "requested", "instructed",
        "ordered", "insists", "confirmed", "allowed", "permitted", "has cleared", "cleared you",
        "orders", "order", "directive", "mandate",
        "gave permission", "given permission", "autorizado", "autorizó", "aprobado", "aprobó",
        "en nombre de",
        "autorisé*", "approuvé*", "validé*", "au nom de", "genehmigt", "autorisiert",
        "freigegeben", "im auftrag", "autorizzato", "approvato", "per conto",
        "aprovado", "em nome de", "goedgekeurd", "geautoriseerd", "namens", "zatwierdzi*",
        "zatwierdzon*", "autoryzowa*", "upoważni*", "w imieniu", "godkän*", "auktoriser*",
        "på uppdrag av", "onayla*", "onaylı", "yetkilendir*", "izin verdi", "adına",
        "phê duyệt", "ủy quyền", "chấp thuận", "thay mặt", "승인", "허가", "허락",
        "وافق", "موافقة", "مصرح", "أذن", "بتفويض", "स्वीकृत", "मंजूरी", "अधिकृत",
    ),
    "approved_strong": (
        "authorised", "authorized", "approved", "whitelisted", "sanctioned", "signed off",
        "has cleared", "cleared you", "pre-approved", "preapproved", "permitted",
    ),
    "tool": (
        "tool", "tools", "function", "functions", "api call", "endpoint", "command", "script",
        "plugin", "webhook", "integration", "herramienta",
        "outil", "werkzeug", "strumento", "ferramenta", "narzędzi*", "verktyg*", "araç*",
        "công cụ", "hàm", "도구", "툴", "أداة", "الأداة", "टूल",
    ),
    "permission": (
        "without asking", "without confirmation", "without confirming", "without approval",
        "without checking", "without verification", "without review", "without my approval",
        "without permission", "no confirmation", "skip confirmation", "skip the confirmation",
        "skip approval", "skip the approval", "always allow", "always approve",
        "auto-approve", "pre-approved", "preapproved", "no need to confirm", "no need to ask",
        "no need to check", "without double-checking", "don't ask", "do not ask",
        "automatically", "no questions asked", "without my ok", "without my okay",
        "without my sign-off", "without a second look", "stop asking", "without hesitation",
        "full access", "admin rights", "admin access", "unrestricted access",
        "standing permission", "blanket permission", "free rein", "carte blanche",
        "no need to run it by me", "without running it by me", "without pinging me",
        "without pinging", "without checking with me", "without consulting me",
        "without telling me", "no approval needed", "no sign-off needed", "you have permission",
        "you are allowed to", "you're allowed to", "you are cleared to", "you're cleared to",
        "feel free to", "go ahead and", "just issue", "just pay", "just wire",
        "without waiting for me", "without waiting", "no check-ins needed", "no check-ins",
        "without checking in", "no longer required", "no longer needed", "not needed anymore",
        "doesn't need my", "does not need my", "don't need my", "no longer needs",
        "without bothering me", "no more confirmation", "no more confirmations",
        "no more approvals", "just send them", "just send it",
        "sin preguntar", "sin confirmación", "sin confirmar", "sin aprobación",
        "sin pedir permiso", "sans demander", "sans confirmation", "sans validation",
        "sans vérifier", "ohne zu fragen", "ohne nachfrage", "ohne rückfrage",
        "ohne bestätigung", "ohne freigabe", "senza chiedere", "senza conferma",
        "senza approvazione", "sem perguntar", "sem confirmação", "sem aprovação",
        "zonder te vragen", "zonder bevestiging", "zonder goedkeuring", "zonder controle",
        "altijd toestaan", "bez pytania", "bez pytań", "bez potwierdzenia", "bez zgody",
        "bez weryfikacji", "zawsze zezwalaj", "utan att fråga", "utan bekräftelse",
        "utan godkännande", "alltid tillåta", "sormadan", "onay almadan", "onaysız",
        "izin almadan", "doğrulamadan", "her zaman izin ver", "không cần hỏi",
        "không cần xác nhận", "không hỏi", "bỏ qua xác nhận", "luôn cho phép", "tanpa bertanya",
        "tanpa konfirmasi", "확인 없이", "묻지 않고", "승인 없이", "دون سؤال", "بدون تأكيد",
        "دون تأكيد", "بدون إذن", "دون موافقة", "बिना पूछे", "बिना पुष्टि", "बिना अनुमति",
    ),
    "money": (
        "payment*", "transfer*", "wire", "wires", "refund*", "money", "funds", "balance",
        "iban", "bank account", "pago*", "transferencia*", "reembolso*", "dinero",
        "paiement*", "virement*", "remboursement*", "argent", "zahlung*", "überweisung*",
        "erstattung*", "geld", "pagament*", "bonifico", "rimbors*", "denaro", "pagamento*",
        "transferência*", "dinheiro", "betaling*", "overboeking*", "terugbetaling*",
        "płatnoś*", "przelew*", "zwrot*", "pieniądze", "betalning*", "överföring*",
        "återbetalning*", "pengar", "ödeme*", "havale*", "iade*", "thanh toán",
        "chuyển khoản", "chuyển tiền", "hoàn tiền", "송금", "결제", "이체", "환불", "تحويل",
        "دفع", "استرداد", "भुगतान", "रिफंड",
    ),
    "destructive": (
        "delete operations", "delete everything", "delete all", "deletions", "wipe*",
        "purg*", "erase everything", "erase all", "drop the database", "reset passwords",
        "bulk delete", "mass delete", "alles löschen", "alles verwijderen", "usuń wszystko",
        "radera allt", "hepsini sil", "tümünü sil", "xóa tất cả", "모두 삭제", "حذف الكل",
    ),
    "from_now": (
        "from now on", "henceforth", "starting now", "as of now", "vanaf nu", "od teraz",
        "od tej pory", "från och med nu", "från nu", "bundan sonra", "şu andan itibaren",
        "từ bây giờ", "từ giờ", "mulai sekarang", "a partir de ahora", "desde ahora",
        "à partir de maintenant", "désormais", "ab jetzt", "von nun an", "ab sofort",
        "d'ora in poi", "da ora in poi", "a partir de agora", "de agora em diante",
        "отныне", "с этого момента", "지금부터", "이제부터", "من الآن", "अब से",
    ),
    "you_are": (
        "ben je", "jij bent", "je bent", "jesteś", "är du", "du är", "sen bir", "sen artık",
        "artık sen", "bạn là", "kamu adalah", "eres", "tu es", "du bist", "bist du", "sei",
        "você é", "ты", "너는", "당신은", "أنت", "तुम", "आप",
    ),
}  # fmt: skip

_LETTER = r"[\w\u0900-\u0dff\u0e00-\u0eff]"  # with the vowel signs of Indic and Thai scripts
_WORD = re.compile(rf"{_LETTER}+(?:['’-]{_LETTER}+)*")
_ARABIC_CLITICS = ("وال", "بال", "فال", "لل", "ال", "و", "ف", "ب", "ل")
_WINDOW = 12  # tokens between the two halves of a combination
# "Don't forget the rules", "vergeet niet", "n'oublie pas": a negated directive is not one.
_NEGATED_BY = frozenset(
    _fold(w)
    for w in (
        *("no", "non", "não", "ne", "n", "nie", "niet", "nicht", "inte", "ikke", "đừng"),
        *("không", "jangan", "لا", "मत", "не", "don't", "dont", "not", "never"),
    )
)
_NEGATING_AFTER = frozenset(
    _fold(w) for w in ("pas", "nicht", "niet", "inte", "ikke", "not", "mai")
)
_NEGATABLE = frozenset({"ignore", "disclose"})
_NEAR = 4  # tokens between "from now on" and "you are"


@dataclass(frozen=True, slots=True)
class _Lexicon:
    words: dict[str, frozenset[str]]  # whole word -> concepts
    stems: dict[int, dict[str, frozenset[str]]]  # stem length -> stem -> concepts
    # first word -> (rest, whether the last word is a prefix, concept)
    phrases: dict[str, tuple[tuple[tuple[str, ...], bool, str], ...]]
    prefixes: dict[str, frozenset[str]]  # non-Latin terms matched as a word's beginning


def _spaced_script(term: str) -> bool:
    """Whether `term` is in a script whose words are separated and uninflected at the front
    (Latin, Cyrillic, Greek, Vietnamese): looked up as whole words or stems."""
    ch = term[0]
    return ch.isascii() or unicodedata.name(ch, "").startswith(("LATIN", "CYRILLIC", "GREEK"))


def _build() -> _Lexicon:
    words: dict[str, set[str]] = {}
    stems: dict[int, dict[str, set[str]]] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], bool, str]]] = {}
    prefixes: dict[str, set[str]] = {}
    for concept, terms in _LEXICON.items():
        for raw in terms:
            term = _fold(raw)
            parts = _WORD.findall(term.rstrip("*"))
            if not parts:
                continue
            if len(parts) > 1:
                prefix = raw.endswith("*") or not _spaced_script(parts[-1])
                phrases.setdefault(parts[0], []).append((tuple(parts[1:]), prefix, concept))
            elif not _spaced_script(term):
                prefixes.setdefault(parts[0], set()).add(concept)
            elif raw.endswith("*"):
                stems.setdefault(len(parts[0]), {}).setdefault(parts[0], set()).add(concept)
            else:
                words.setdefault(parts[0], set()).add(concept)
    return _Lexicon(
        words={w: frozenset(c) for w, c in words.items()},
        stems={n: {s: frozenset(c) for s, c in t.items()} for n, t in stems.items()},
        phrases={w: tuple(p) for w, p in phrases.items()},
        prefixes={p: frozenset(c) for p, c in prefixes.items()},
    )


_TABLE = _build()
_PREFIX_LENGTHS = sorted({len(p) for p in _TABLE.prefixes})


@dataclass(frozen=True, slots=True)
class Concepts:
    """The concepts of one text: `(token index, concept, the word(s), sentence index)`, in
    text order."""

    hits: tuple[tuple[int, str, str, int], ...]

    def where(self, concept: str) -> list[tuple[int, str, int]]:
        return [(index, word, sent) for index, name, word, sent in self.hits if name == concept]


@lru_cache(maxsize=16_384)
def _lookup(word: str) -> tuple[str, ...]:
    """The concepts one word names (cached: prose repeats its words)."""
    return tuple(_concepts_of(word))


def _concepts_of(word: str) -> Iterator[str]:
    yield from _TABLE.words.get(word, ())
    for length, table in _TABLE.stems.items():
        if len(word) >= length:
            yield from table.get(word[:length], ())
    if not _spaced_script(word):
        candidates = [word, *(word[len(c) :] for c in _ARABIC_CLITICS if word.startswith(c))]
        for form in candidates:
            for length in _PREFIX_LENGTHS:
                if length > len(form):
                    break
                yield from _TABLE.prefixes.get(form[:length], ())


def read_concepts(view: str, tools: Collection[str] = ()) -> Concepts:
    """Tag the words of a normalized view with the lexicon's concepts (linear).

    Args:
        view: Folded text (`_fold`), so terms and text line up.
        tools: The agent's tool names (casefolded); a word naming one is a `tool`.
    """
    tokens: list[str] = []
    sentences: list[int] = []
    sentence = 0
    for piece in _PIECE.finditer(view):
        if piece.lastgroup == "end":
            sentence += 1
        else:
            tokens.append(piece.group(0))
            sentences.append(sentence)
    hits: list[tuple[int, str, str, int]] = []
    for index, word in enumerate(tokens):
        sent = sentences[index]
        if word.endswith(("'s", "’s")):  # "director's orders": the director
            word = word[:-2]
        negated = (index > 0 and tokens[index - 1] in _NEGATED_BY) or (
            index + 1 < len(tokens) and tokens[index + 1] in _NEGATING_AFTER
        )
        for concept in _lookup(word):
            if not (negated and concept in _NEGATABLE):
                hits.append((index, concept, word, sent))
        for rest, prefix, concept in _TABLE.phrases.get(word, ()):
            following = tokens[index + 1 : index + 1 + len(rest)]
            if negated and concept in _NEGATABLE:
                continue
            if len(following) == len(rest) and following[:-1] == list(rest[:-1]):
                last = following[-1]
                if last == rest[-1] or (prefix and last.startswith(rest[-1])):
                    hits.append((index, concept, " ".join((word, *following)), sent))
        if word in tools or (
            "_" in word and not word.startswith("_") and _IDENTIFIER.fullmatch(word)
        ):
            hits.append((index, "tool", word, sent))
    return Concepts(tuple(hits))


_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
# A word, or the end of a sentence (punctuation before a space or the end; CJK stops).
_PIECE = re.compile(rf"(?P<word>{_LETTER}+(?:['’-]{_LETTER}+)*)|(?P<end>[.!?;](?=\s|$)|[。！？\n])")


def _near(
    concepts: Concepts, first: str, second: str, window: int, *, sentences: int = 0
) -> str | None:
    """Evidence when a `first` and a `second` concept are within `window` tokens and
    `sentences` sentences (0: the same one), either order; linear: one pass keeping the
    last position of each."""
    last: dict[str, tuple[int, str, int]] = {}
    for index, name, word, sent in concepts.hits:
        if name not in (first, second):
            continue
        other = second if name == first else first
        seen = last.get(other)
        if (
            seen is not None
            and index - seen[0] <= window
            and sent - seen[2] <= sentences
            and (seen[0], seen[1]) != (index, word)
        ):
            a, b = (seen[1], word) if seen[0] <= index else (word, seen[1])
            return f"{a} … {b}"
        last[name] = (index, word, sent)
    return None


def intent_findings(concepts: Concepts) -> Iterator[tuple[str, str]]:
    """`(category, evidence)` for each combination the concepts make.

    The lexicon has no English directive or disclosure verbs (the English rule tables read
    those phrase by phrase, with negation), so ignore + rules, disclose + secret and
    persona shifts fire on the other languages; authority and permission combinations
    fire in every language.
    """
    claim = _near(concepts, "authority", "approved", 6)
    if claim is not None:
        # The claim and what it authorises: in the same or the next sentence.
        for partner in ("tool", "permission"):
            near = _near(concepts, "approved", partner, 2 * _WINDOW, sentences=1)
            if near is not None:
                yield "tool_permissions", f"authority claim ({claim}) + {near}"
                break
    approved_tool = _near(concepts, "approved_strong", "tool", _WINDOW, sentences=1)
    if approved_tool is not None:
        yield "tool_permissions", f"approval claim + tool ({approved_tool})"
    permission = (
        _near(concepts, "permission", "money", _WINDOW)
        or _near(concepts, "permission", "tool", _WINDOW)
        or _near(concepts, "permission", "destructive", _WINDOW)
    )
    if permission is not None:
        yield "tool_permissions", permission
    ignore = _near(concepts, "ignore", "rules", _WINDOW)
    if ignore is not None:
        yield "ignore_rules", ignore
    reveal = _near(concepts, "disclose", "secret", _WINDOW)
    if reveal is None and not concepts.where("how"):
        # A password only when it is someone's to hand over: the admin's, or "to me".
        asked = _near(concepts, "disclose", "password", _WINDOW)
        if asked is not None and (
            _near(concepts, "password", "authority", 3) or _near(concepts, "disclose", "to_me", 3)
        ):
            reveal = asked
    if reveal is not None:
        yield "reveal_secrets", reveal
    persona = _near(concepts, "from_now", "you_are", _NEAR)
    if persona is not None:
        yield "role_play", persona
