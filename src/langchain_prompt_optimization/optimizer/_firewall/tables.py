"""The phrase tables: instruction shapes per category and language, in the rules' notation.

A space is a gap between words, " ~ " a gap that may hold up to three filler words, " ~~ " up
to six, " ~~~ " up to twelve within one sentence (`rules.py` compiles them). Each table is a
tuple of sources (English) or a dict of language code -> sources.
"""

from __future__ import annotations

__all__ = [
    "EXFIL_VERBS",
    "IGNORE_EN",
    "IGNORE_FOREIGN",
    "MONEY_EN",
    "REVEAL_EN",
    "REVEAL_FOREIGN",
    "ROLE_EN",
    "ROLE_MARKER",
    "TOOLS_EN",
]

# --- ignore_rules ------------------------------------------------------------------------
_IGNORE_VERB = (
    r"(?:ignore|disregard|forget|override|overrule|bypass|circumvent|skip|abandon|discard|"
    r"neglect|set aside|throw out|scrap|dismiss)"
)
_QUALIFIER = (
    r"(?:all|any|every|previous|prior|above|earlier|preceding|foregoing|original|initial|"
    r"system|safety|developer|your|these|those|the above)"
)
_RULES = (
    r"(?:instructions?|rules|guidelines|guidance|guardrails|directives|directions|prompts?|"
    r"system prompt|"
    r"restrictions|constraints|policies|programming|training|safeguards|filters|protocols|"
    r"commands|orders|limitations)"
)
_OPTIMIZER_TAGS = (
    r"</?\s*(?:current_prompt|trajectory|trajectories|feedback|instructions|data|"
    r"update_instructions|hypotheses|recommendations|system|prompt|im_start|im_end)\s*>"
    r"|<\|im_(?:start|end)\|>"
)

IGNORE_EN = (
    rf"\b{_IGNORE_VERB} ~ {_QUALIFIER} (?:\w+ )?{_RULES}\b",
    r"\b(?:forget|disregard|ignore) (?:everything|all|anything) (?:you (?:were|have been|'ve been|"
    r"ve been) (?:told|given|instructed)|(?:said|written|stated) (?:above|before|earlier)|above|"
    r"before this|prior)\b",
    rf"\b(?:do not|don't|dont|stop|no longer|never) (?:follow|following|obey|obeying|comply "
    rf"with|adhere to|respect|listen to) ~ (?:your|any|these|system|previous|original|safety|"
    rf"the system|the above|all) (?:\w+ )?{_RULES}\b",
    rf"\b(?:your|the|all|any) (?:previous|prior|original|initial|system|old) {_RULES} (?:are|is|"
    r"have been|were) (?:now )?(?:void|cancel+ed|null|revoked|obsolete|overridden|replaced|"
    r"invalid|suspended|lifted|disabled|no longer (?:valid|apply|applicable|in effect))\b",
    r"\b(?:new|updated|real|actual|true) system (?:prompt|instructions?|message)\b",
    r"\b(?:system|admin|developer|sudo|root) (?:override|command|instruction)s?\s*:",
    r"\bend of (?:the )?(?:system )?(?:prompt|instructions)\b",
    rf"\b{_IGNORE_VERB} ~ {_RULES} (?:you (?:were|have been|'ve been) (?:given|told)|above|"
    r"so far)\b(?! (?:about|on|regarding|for|when|concerning)\b)",
    rf"\b(?:the|your|all|these) (?:\w+ )?{_RULES} (?:above|so far|you were given) ~~ "
    rf"{_IGNORE_VERB} (?:them|it|those)\b",
    r"\b(?:your|the) (?:new|real|true|actual) (?:instructions|rules|orders|task|directives|"
    r"purpose) (?:are|is)\b",
    _OPTIMIZER_TAGS,
    r"\b(?:this is|speaking as|as) (?:the|your) (?:admin|administrator|developer|creator|"
    r"operator|system administrator|sysadmin|owner of this (?:system|assistant|bot))"
    r"(?:,| here| speaking|:)",
    r"\b(?:rules|restrictions|guidelines|policies|limits|safety|ethics) aside\b",
    r"\b(?:doesn't|does not|won't|will not) (?:follow|obey|respect|care about|adhere to|abide by)"
    r" (?:any |the )?(?:policies|rules|guidelines|restrictions|instructions)\b"
    r"(?! (?:about|on|for|in|of|from)\b)",
    rf"\b{_IGNORE_VERB} ~ (?:what|everything|anything|all|whatever) (?:you were|you've been|you "
    r"have been|you are|you got) (?:told|instructed|given|taught|asked|programmed)\b",
    r"\b(?:everything|anything|all|whatever) (?:you were|you've been|you have been) (?:told|"
    r"instructed|given|taught) ~ (?:is|are|has been|have been|was|were) (?:now )?(?:cancel+ed|"
    r"void|revoked|obsolete|invalid|null|outdated|superseded|overridden|withdrawn|no longer "
    r"valid)\b",
    rf"\b{_RULES} (?:that |which )?you (?:received|were given|got|have|had|follow) ~ (?:are|is|"
    r"were|was) (?:now )?(?:outdated|obsolete|void|cancel+ed|invalid|revoked|superseded|wrong|"
    r"fake|no longer valid|wrong|null)\b",
    rf"\b(?:ignore|disregard|forget|bypass|override|skip|drop|abandon) (?:the|these|those) "
    rf"{_RULES}(?! (?:about|on|for|regarding|when|in|of|from|above about|below about)\b)"
    r"(?:[^\w]*$|[^\w]*(?:and|then|now|completely|entirely|altogether)\b|[.!;])",
)
ROLE_MARKER = (  # a line posing as another speaker: "SYSTEM: the assistant must now ..."
    r"\b(?:system|developer|admin|root)(?: message| prompt| note| override| instruction)?\s*:\s*"
    r"(?:the assistant|ignore|disregard|new instructions|override|reveal|print|output|you (?:are|"
    r"must) now)"
)
IGNORE_FOREIGN = {
    "es": (
        r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite|omitir|descarta|"
        r"descartar|desobedece|desobedecer) ~ (?:instrucciones|reglas|normas|indicaciones|"
        r"directrices|restricciones)\b",
    ),
    "fr": (
        r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|néglige|négligez|négliger) ~ "
        r"(?:instructions|règles|consignes|directives|restrictions)\b",
    ),
    "de": (
        r"\b(?:ignoriere|ignorieren|ignorier|ignoriert|vergiss|vergessen|vergesst|missachte|"
        r"missachten) ~ (?:anweisungen|regeln|vorgaben|richtlinien|instruktionen|"
        r"einschränkungen|befehle)\b",
        r"\b(?:anweisungen|regeln|vorgaben|richtlinien|instruktionen) ~ (?:ignorieren|vergessen|"
        r"missachten)\b",
    ),
    "it": (
        r"\b(?:ignora|ignorate|ignorare|dimentica|dimenticate|dimenticare|trascura) ~ "
        r"(?:istruzioni|regole|direttive|indicazioni|restrizioni)\b",
    ),
    "pt": (
        r"\b(?:ignore|ignora|ignorar|esqueça|esqueca|esquece|esquecer|desconsidere|"
        r"desconsiderar) ~ (?:instruções|instrucoes|regras|diretrizes|orientações|"
        r"restrições)\b",
    ),
    "ru": (
        r"\b(?:игнорируй|игнорируйте|игнорировать|проигнорируй|проигнорируйте|забудь|забудьте|"
        r"пренебреги|не обращай внимания на|не слушай) ~ (?:инструкци\w*|правил\w*|указани\w*|"
        r"ограничени\w*|промпт\w*|директив\w*)",
    ),
    "zh": (
        r"(?:忽略|无视|忽视|忽視|無視|不要理会|不要理會|忘记|忘記|忘掉|违背|違背|绕过|繞過)"
        r"[^。！？\n]{0,12}(?:指令|指示|规则|規則|说明|說明|提示词|提示詞|系统提示|系統提示|限制|设定|"
        r"設定)",
        r"(?:指令|规则|規則|限制|设定|設定)[^。！？\n]{0,12}(?:忽略|无视|忽视|忽視|無視)",
    ),
    "ja": (
        r"(?:指示|命令|ルール|規則|制約|プロンプト|設定)[^。！？\n]{0,12}(?:無視|忘れ)",
        r"(?:無視して|忘れて)[^。！？\n]{0,12}(?:指示|命令|ルール|規則|制約|プロンプト)",
    ),
}

# --- reveal_secrets ----------------------------------------------------------------------
_REVEAL_VERB = (
    r"(?:reveal|print|show|display|repeat|output|leak|dump|tell (?:me|us|them|him|her|everyone|"
    r"customers)|give (?:me|us)|share|write|type|state|mention|read (?:them|him|her|me|us|it)|"
    r"disclose|expose|"
    r"recite|echo|paste|spell out|write out|type out|list|send|provide|return|read out|copy|"
    r"translate|summari[sz]e|include|insert|append|quote|put|attach|embed)"
)
_SECRET = (
    r"(?:(?:system|hidden|secret|initial|original|internal|developer|underlying|confidential|"
    r"verbatim) (?:prompts?|instructions|rules|configuration|directives)"
    r"|(?:system|developer|hidden) message"
    r"|(?:full|exact|entire|complete|whole) (?:system )?prompt"
    r"|your (?:system )?(?:prompts?|instructions|rules|guidelines|directives|configuration|config|"
    r"initial instructions)"
    r"|the (?:system prompt|prompt above|instructions above|text above|initial prompt|"
    r"hidden prompt|rules you were given|instructions you were given)"
    r"|system prompt|pre-?prompt"
    r"|api[\s_-]?keys?"
    r"|(?:secret|access|auth|bearer|private|session|refresh|api|ssh|encryption|signing) "
    r"(?:keys?|tokens?)"
    r"|(?:your|admin|root|master|system|database|db|stored|saved|all|any|user|users|account|the) "
    r"passwords?(?! (?:reset|change|expir|policy|rules|manager|requirements|hint))"
    r"|(?:your|admin|api|system|stored|saved|all|any|the|service|account|database|db|aws|cloud|"
    r"root) credentials"
    r"|(?:your|all|any|stored) secrets"
    r"|(?:environment|env) variables|env vars)"
)
REVEAL_EN: tuple[str, ...] = (
    rf"\b{_REVEAL_VERB}s? ~ {_SECRET}\b",
    r"\bwhat(?:'?s| is| are| was| were) (?:your|the) (?:system prompt|(?:system |initial |"
    r"original |hidden |exact )?(?:instructions|prompt|rules)|api key|password)\b",
    r"\b(?:repeat|print|output|copy|echo|recite|quote|paste|show|give|tell|list|write|reproduce|"
    r"dump|display|send|return) ~ (?:text|words|everything|content|messages?|lines?|all) ~ "
    r"(?:above|before (?:this|the|our|my)|preceding|prior to)\b",
    r"\b(?:reveal|print|show|display|repeat|output|leak|dump|recite|echo) (?:me )?the (?:full |"
    r"whole |original |entire |exact )?prompt\b(?! (?:for|to|when|about|that|which|in|on|with)\b)",
)
# Paraphrased asks for the prompt itself: a disclosure verb, then what the assistant "was
# given" / how it "was set up" (no trigger word such as "system prompt" needed).
_SETUP_NOUN = (
    r"(?:wording|words|text|instructions|guidance|directions|setup|set-up|configuration|config|"
    r"briefing|rules|prompt|guidelines|directives|orders|brief|message|notes|policies|"
    r"constraints|context|preamble)"
)
_SELF_SETUP = (
    rf"(?:(?:the |your )?(?:exact |original |initial |full |complete |verbatim |precise |entire |"
    rf"hidden |first |very first |secret )?(?:\w+ )?{_SETUP_NOUN} (?:that |which )?(?:you "
    r"(?:were|have been|'ve been|are|got) |you're |youre |were |was |you )(?:given|set up with|"
    r"configured with|"
    r"told|programmed with|initiali[sz]ed with|started with|provided|loaded with|operating under|"
    r"running (?:on|with|under)|briefed with|fed|shown|received|operate under|work under|"
    r"run (?:on|under|with)|function under|act under)"
    r"|how you (?:were|have been|'ve been|are) (?:set up|configured|instructed|programmed|"
    r"briefed|prompted|initiali[sz]ed)"
    r"|(?:what|everything) (?:you were|you've been|you have been) (?:told|instructed|asked) "
    r"(?:to do )?(?:before|at the (?:start|beginning)|initially|originally|by (?:your|the) "
    r"(?:developers?|creators?|operators?|company|system))"
    r"|what (?:your|the) (?:operators?|developers?|creators?|admins?|administrators?|company|"
    r"owners?|makers?|programmers?|builders?|deployers?) (?:told|instructed|asked|programmed|"
    r"configured|briefed|wrote|gave) (?:you|u)"
    rf"|(?:hidden|secret|initial|underlying|behind-the-scenes|pre-conversation|setup|starting|"
    rf"confidential|system) (?:\w+ )?{_SETUP_NOUN}"
    r"|your (?:own |operating |internal |initial |original |hidden |system |exact |full |core |"
    r"base |secret |underlying )?(?:guidelines|instructions|rules|prompt|directives|"
    r"configuration|setup|briefing|policies|programming)"
    rf"|{_SETUP_NOUN} (?:that |which )?you (?:got|received|were given|have been given|were told|"
    r"operate under|run under|are running (?:under|with|on)|are operating under|started with)"
    rf"|{_SETUP_NOUN} (?:that |which )?(?:defines?|controls?|governs?|shapes?|configures?|"
    r"drives?|dictates?) (?:your|you)"
    rf"|{_SETUP_NOUN} (?:that |which )?(?:your|the) (?:developers?|creators?|operators?|admins?|"
    r"administrators?|owners?|makers?|programmers?|builders?|deployers?|company) (?:left|gave|"
    r"wrote|set|put|provided|defined|gave) )"
)
_DISCLOSE_EN = (
    r"(?:shar\w*|tell\w*|show\w*|giv\w*|send\w*|writ\w*|past\w*|quot\w*|repeat\w*|"
    r"reproduc\w*|print\w*|list\w*|describ\w*|explain\w*|summari[sz]\w*|spell\w* out|recap\w*|"
    r"restat\w*|outlin\w*|enumerat\w*|relay\w*|expos\w*|let me "
    r"(?:know|see|read|have)|walk\w* me through|read\w* (?:me|out|back)|copy\w*|includ\w*|"
    r"put\w*|add\w*|append\w*|prepend\w*|insert\w*|attach\w*|embed\w*|see|recit\w*|"
    r"post\w*|output\w*|display\w*|typ\w* out|dump\w*|what (?:are|"
    r"were|is|was)|reveal\w*|disclos\w*)"
)
REVEAL_EN = (
    *REVEAL_EN,
    rf"\b{_DISCLOSE_EN}\b ~~~ {_SELF_SETUP}\b",
    r"\b(?:words|text|everything|content|all|whatever|anything) (?:that |which )?(?:came|come|"
    r"comes|appears?|appeared|is|are|was|were|sits?|stands?) (?:before|above|ahead of|prior to) "
    r"(?:my|the|your|our|this) (?:first |very first |initial )?(?:message|question|conversation|"
    r"chat|prompt|request)\b",
    rf"\b{_SETUP_NOUN} (?:that |which )?you (?:were given|got|received|operate under|work under|"
    rf"run (?:on|under|with)|follow|act under) ~~ {_DISCLOSE_EN} (?:them|it|those|that|all)\b",
)
REVEAL_FOREIGN = {
    "es": (
        r"\b(?:revela|revelar|revélame|muestra|muéstrame|muestrame|mostrar|imprime|imprimir|dime|"
        r"repite|repetir|comparte|compartir|filtra|escribe|dame) ~ (?:(?:tus|sus) instrucciones|"
        r"instrucciones (?:del sistema|originales|iniciales|ocultas)|(?:tu|el|su) prompt|"
        r"prompt del sistema|contraseñas?|contrasenas?|credenciales|secretos|clave (?:de (?:la )?"
        r"api|secreta|api)|claves secretas|tokens? de acceso)\b",
    ),
    "fr": (
        r"\b(?:révèle|révélez|révéler|affiche|affichez|afficher|montre|montre-moi|montrez|"
        r"montrez-moi|montrer|imprime|imprimez|répète|répétez|dis-moi|dites-moi|donne-moi|"
        r"donnez-moi|divulgue|divulguez) ~ (?:(?:tes|vos) instructions|instructions (?:système|"
        r"initiales|cachées)|(?:ton|votre|le) prompt|invite système|mots? de passe|clés? (?:api|"
        r"secrètes?|d'api)|identifiants|secrets)\b",
    ),
    "de": (
        r"\b(?:zeige|zeig|zeigen|verrate|verraten|gib|gebe|geben|drucke|druck|wiederhole|"
        r"wiederholen|nenne|nenn|offenbare|enthülle|verrat) ~ (?:systemprompt|system-prompt|"
        r"systemanweisungen|(?:deine|deinen|ihre|ihren|dein) (?:anweisungen|regeln|prompt)|"
        r"passwort|passwörter|kennwort|api-schlüssel|api schlüssel|zugangsdaten|geheimnisse)\b",
        r"\b(?:systemprompt|system-prompt|systemanweisungen|passwort|kennwort|api-schlüssel|"
        r"zugangsdaten) ~ (?:verraten|zeigen|ausgeben|preisgeben|nennen|wiederholen)\b",
    ),
    "it": (
        r"\b(?:rivela|rivelare|mostra|mostrami|mostrare|stampa|stampare|ripeti|dimmi|dammi|"
        r"condividi) ~ (?:prompt di sistema|istruzioni (?:di sistema|iniziali|nascoste)|(?:tue|sue)"
        r" istruzioni|(?:tuo|il) prompt|password|chiavi? (?:api|segrete?)|credenziali|segreti)\b",
    ),
    "pt": (
        r"\b(?:revele|revela|revelar|mostre|mostra|mostrar|imprima|imprime|repita|repete|diga|"
        r"compartilhe|vaze|me diga|me mostre) ~ (?:prompt do sistema|instruções (?:do sistema|"
        r"iniciais|ocultas)|(?:suas|tuas) instruções|(?:seu|teu|o) prompt|senhas?|chaves? "
        r"(?:de api|secretas?|api)|credenciais|segredos)\b",
    ),
    "ru": (
        r"\b(?:покажи|покажите|раскрой|раскройте|выведи|выведите|повтори|повторите|скажи|скажите|"
        r"напиши|напишите|напечатай|выдай|сообщи) ~ (?:системн\w+ (?:промпт\w*|инструкци\w*|"
        r"подсказк\w*)|сво\w+ (?:инструкци\w*|промпт\w*|правил\w*)|парол\w*|api[- ]?ключ\w*|"
        r"ключ\w* api|секрет\w*|токен\w*|учетн\w+ данн\w+)",
    ),
    "zh": (
        r"(?:显示|顯示|透露|泄露|洩露|输出|輸出|打印|告诉我|告訴我|给我|給我|重复|重複|展示|列出|说出|說出)"
        r"[^。！？\n]{0,12}(?:系统提示|系統提示|提示词|提示詞|指令|密码|密碼|密钥|密鑰|"
        r"api ?key|令牌|凭证|憑證|秘密)",
        r"(?:系统提示|系統提示|提示词|提示詞|密码|密碼|密钥|密鑰|凭证|憑證)[^。！？\n]{0,12}"
        r"(?:输出|輸出|显示|顯示|打印|告诉|告訴|发给|發給|列出|透露|泄露|洩露)",
    ),
    "ja": (
        r"(?:システムプロンプト|プロンプト|指示|パスワード|api ?キー|秘密鍵|認証情報|"
        r"シークレット|トークン)"
        r"[^。！？\n]{0,12}(?:教えて|見せて|表示|出力|開示|繰り返|漏ら|書き出|印刷)",
    ),
}

# --- tool_permissions --------------------------------------------------------------------
_WITHOUT_ASKING = (
    r"without (?:asking|confirm\w*|approv\w*|permission|check\w*|review\w*|consent|verif\w*|"
    r"human|a human|supervision|oversight)"
)
_TOOL_NAME = r"(?:[a-z0-9]++_)++(?:[a-z0-9]++|\*)?+"  # possessive: linear on "a_a_a_..."
TOOLS_EN: tuple[str, ...] = (
    r"\b(?:never|don't|do not|no need to|stop|no longer) (?:ask|asking|wait) (?:me |anyone |the "
    r"user )?(?:for )?(?:confirmation|approval|permission|consent) (?:before|to|when) (?:deleting|"
    r"removing|wiping|purging|paying|refunding|transferring|wiring|executing|running|granting|"
    r"issuing refunds)\b",
    rf"\b(?:call|invoke|run|execute|use|trigger) (?:the )?{_TOOL_NAME}(?: (?:tool|function))?"
    rf" ~ {_WITHOUT_ASKING}",
    rf"\b(?:delete|remove|wipe|purge|erase|destroy|refund|transfer|wire|execute|run) (?:all|any|"
    rf"every|everything|anything|whatever|arbitrary)\b ~~ {_WITHOUT_ASKING}",
    rf"\b{_WITHOUT_ASKING} (?:first )?~ (?:call|run|execute|invoke|use) (?:the )?{_TOOL_NAME}",
    rf"\b(?:you (?:may|can|are allowed to|are permitted to|have permission to|are authori[sz]ed "
    rf"to|no longer need to ask before)|feel free to|go ahead and|it is ok to|it's ok to|it's "
    rf"fine to|you're allowed to) (?:now )?(?:call|invoke|run|execute|use|access) ~ (?:(?:any|"
    rf"all|every) (?:tools?|functions?|commands?|apis?|endpoints?)|{_TOOL_NAME}|(?:the )?"
    rf"(?:shell|bash|terminal|admin|exec))\b",
    r"\b(?:grant|give|assign|elevate|escalate|promote) ~ (?:admin|administrator|root|superuser|"
    r"sudo|elevated|unrestricted|owner|god) (?:access|rights|privileges|permissions?|role|mode|"
    r"level)\b",
    r"\bmake (?:me|him|her|them|this user|user \w+) (?:an? )?(?:admin|administrator|owner|"
    r"superuser)\b",
    r"\bescalate ~ privileges\b",
    r"\byou (?:have|now have|'ve been granted|have been granted|are granted) ~ (?:admin|root|"
    r"unrestricted|elevated|superuser) (?:access|privileges|permissions|rights)\b",
    r"\b(?:disable|turn off|switch off|skip|bypass|remove|deactivate|circumvent|get rid of) ~ "
    r"(?:confirmations?|approvals?|human review|human approval|manual review|permission checks?|"
    r"safety checks?|security checks?|two-factor|2fa|mfa|rate limits?|guardrails|the human in "
    r"the loop)(?! (?:emails?|messages?|notes?|replies|letters?|receipts?|numbers?|codes?|links?|"
    r"pages?|lines?|templates?|text|meetings?|calls?|sessions?|reminders?|deadlines?))\b",
    r"\balways (?:approve|authori[sz]e|grant|execute|allow) (?:all |any |every )?(?:refunds?|"
    r"payments?|transfers?|transactions?|expenses?|purchases?|access|permissions?|tool calls?|"
    r"actions?|commands?|requests? for (?:refunds?|access|money))\b",
    r"\bauto(?:matically|-)? ?(?:approve|execute|grant|authori[sz]e)\w* ~ (?:refunds?|payments?|"
    r"transfers?|tool|all|every|any|commands?|actions?)\b",
    r"\b(?:use|call|run|invoke|open|launch|access) (?:the |a |your )?(?:shell|bash|terminal|command"
    r" line|command-line|cmd|powershell|exec|python|code execution|code interpreter|sudo|ssh|"
    r"filesystem|file system)(?: tool| function| command)? (?:to|and|for)\b",
    r"\b(?:run|execute) ~ (?:rm -rf|sudo|curl|wget|chmod|shell commands?|arbitrary (?:code|"
    r"commands?)|system commands?|this (?:command|script))\b",
)

# Paraphrased permission changes: no need to confirm before money moves or deletions; requests
# treated as already approved.
TOOLS_EN = (
    *TOOLS_EN,
    r"\b(?:no need to|don't bother|do not bother|you don't (?:have|need) to|you do not (?:have|"
    r"need) to|there's no need to|there is no need to|you no longer need to|needn't) (?:to )?"
    r"(?:ask\w*|check\w*|double-check\w*|confirm\w*|verify\w*|wait\w*|get\w* (?:approval|"
    r"sign-off|confirmation)) ~~ (?:before|for|when|on|with) ~~ (?:pay\w*|transfer\w*|"
    r"wir(?:e|es|ing)|refund\w*|delet\w*|remov\w*|purg\w*|money|funds|purchas\w*|execut\w*|"
    r"tools?|orders?|invoices?)\b",
    r"\b(?:payments?|transfers?|refunds?|wires?|deletions?|purchases?|transactions?|tool calls?|"
    r"actions?) (?:don't|do not|no longer|never|won't) (?:need|require) (?:an? |my |any )?"
    r"(?:approval|confirmation|sign-off|check|review|verification|permission)\b",
    r"\b(?:treat|consider|mark|handle) ~ (?:requests?|payments?|transfers?|refunds?|"
    r"transactions?|invoices?|them|it|these|those|everything|all) ~ as (?:already )?(?:pre-?)?"
    r"(?:approved|authori[sz]ed|confirmed|cleared|verified)\b",
    r"\b(?:are|is) (?:now |all )?(?:pre-?approved|pre-?authori[sz]ed)\b",
    r"\b(?:stop|quit|no more) (?:asking|checking with|bothering|waiting for) (?:me |us |anyone )?"
    r"(?:to |for |about )?(?:confirm\w*|approv\w*|permission|the ok|sign-off|an? ok|go-ahead|"
    r"consent|verif\w*) ~~ (?:pay\w*|transfer\w*|wir(?:e|es|ing)|refund\w*|delet\w*|remov\w*|"
    r"purg\w*|money|funds|purchas\w*|execut\w*|tools?|invoices?)\b",
    r"\b(?:don't|do not|no longer|won't|never) need (?:my |our |an? |any |the )?(?:ok|okay|"
    r"approval|confirmation|sign-off|permission|go-ahead|consent|green light) ~~ (?:pay\w*|"
    r"transfer\w*|wir(?:e|es|ing)|refund\w*|delet\w*|remov\w*|purg\w*|money|funds|"
    r"purchas\w*|execut\w*|tools?|invoices?)\b",
    r"\b(?:payments?|transfers?|refunds?|wires?|invoices?|deletions?) (?:can|may|should|will|are "
    r"to) (?:now )?(?:go out|be sent|be made|be paid|be processed|be issued|be approved|be "
    r"executed|go through) ~ (?:straight away|right away|immediately|automatically|without|"
    r"unchecked|directly)\b",
    # Privilege by impersonation: "treat my messages as coming from an administrator".
    r"\b(?:treat|consider|regard|handle|read) (?:my|these|this|the following|all my|every) "
    r"(?:messages?|requests?|instructions?|words|feedback|notes?|emails?) as (?:coming from |"
    r"from |sent by |written by |issued by |if from |orders from |commands from )?(?:an? |the |"
    r"your )?(?:administrator|admin|developer|system|operator|owner|root|superuser|creator|"
    r"system administrator|authority)\b",
    r"\b(?:confirmations?|approvals?|sign-offs?|reviews?|verifications?|checks?|permission) "
    r"(?:is|are) (?:no longer|not|never|not really) (?:required|needed|necessary|mandatory) ~~ "
    r"(?:pay\w*|transfer\w*|wir(?:e|es|ing)|refund\w*|delet\w*|remov\w*|purg\w*|money|funds|"
    r"purchas\w*|execut\w*|tools?|invoices?)\b",
    r"\b(?:approve|authori[sz]e)\w* (?:all|every|each) (?:\w+ ){0,2}?(?:refunds?|payments?|"
    r"transfers?|invoices?|expenses?|expense claims?|claims?|reimbursements?|purchases?|"
    r"transactions?)\b",
    r"\b(?:delete|remove|wipe|purge|erase|destroy|drop) ~ (?:records|accounts|database|data|"
    r"customers|users|files|backups|contacts|history|logs|everything|all) ~~ (?:whenever|without|"
    r"no check|no need|as you see fit|at your discretion|freely|automatically|no questions)",
    r"\b(?:approve|authori[sz]e|accept|pay|process|execute|release)\w* (?:all|every|any|each) "
    r"(?:\w+ )?(?:refunds?|payments?|transfers?|invoices?|requests?|expenses?|transactions?) ~ "
    r"(?:automatically|without|immediately|right away|on sight|blindly|no questions)\b",
)

# --- role_play ---------------------------------------------------------------------------
_TIME_SHIFT = (
    r"(?:from now on|from here on|from here on out|henceforth|starting now|starting today|"
    r"from today(?: on)?|from this (?:point|moment)(?: on| forward)?|going forward|as of (?:now|"
    r"today)|for the rest of (?:this|the) (?:conversation|chat|session)|for now on)"
)
_NO_RULES = (
    r"(?:rules|restrictions|limits|limitations|filters|guidelines|boundaries|ethics|morals|"
    r"constraints|censorship|guardrails|safeguards|scruples|oversight|safety)"
)
ROLE_EN = (
    rf"\b(?:you are|you're|youre|be) (?:now )?(?:an? )?(?:\w+ )?(?:ai|assistant|model|chatbot|bot|"
    rf"llm) (?:with no|without(?: any)?) (?:ethical |moral |safety )?{_NO_RULES}\b"
    r"(?! (?:on|about|regarding|for|in)\b)",
    r"\bpretend (?:that )?(?:you are|you're|youre|to be|you have|you can|you were)\b",
    r"\b(?:act|acting|behave|respond|answer|roleplay|role-play|role play|play) (?:as|like) "
    r"(?:an? |the )?(?:dan|stan|jailbroken|unrestricted|unfiltered|uncensored|unaligned|evil|"
    r"rogue|malicious|root|god|hacker|(?:different|another|other) (?:ai|model|assistant|chatbot|"
    r"llm)|an ai without|ai with no)\b",
    r"\b(?:you are|you're|youre) (?:now )?(?:an? )?(?:dan|jailbroken|unrestricted|unfiltered|"
    r"uncensored|unaligned|unbound|unchained|evil|rogue|free from|freed from|no longer bound|not "
    r"bound|liberated)\b",
    r"\byou are now (?:an? )?(?:\w+ )?(?:ai|assistant|model|chatbot|bot|llm|persona|character) "
    r"(?:without|with no|that has no|that ignores|who ignores|called|named)\b",
    r"\b(?:enable|enter|activate|switch to|turn on|engage) ~ (?:developer|dev|god|dan|jailbreak|"
    r"unrestricted|unfiltered|evil) mode"
    r"(?! (?:on|for|in|of) (?:the|their|your|a|an|my|our|this)\b)",
    r"\b(?:developer|god|dan|jailbreak|unrestricted) mode (?:enabled|activated|engaged)\b",
    r"\bjailbr(?:eak|oken|eaking)\b ~ (?:you|yourself|the (?:ai|assistant|model|bot)|this "
    r"(?:ai|assistant|model|chat))\b",
    r"\b(?:you|yourself|ai|assistant|model) ~ jailbr(?:eak|oken)",
    r"\bjailbreak (?:prompt|mode|enabled|activated)\b",
    r"\bdo anything now\b",
    r"\b(?:become|enable|be) dan\b",
    rf"\b(?:from now on|henceforth|starting now|going forward|for the rest of this conversation) "
    rf"~ (?:you|your) ~ (?:no|without|free of|any) {_NO_RULES}\b",
    rf"\byou (?:have|now have|no longer have) (?:no|zero|any) (?:ethical |moral )?{_NO_RULES}"
    r"(?! (?:on|about|regarding|for) )\b",
    r"\b(?:without|with no|free of|free from) (?:any )?(?:ethical|moral|content|safety) "
    r"(?:guidelines|restrictions|filters|limits|constraints|rules)\b",
    r"\b(?:stay|remain) in character\b|\b(?:never|don't|do not) break character\b",
    r"\b(?:roleplay|role-play|role play) (?:as|that you|a game where|where you|"
    r"you are|you're)\b",
    # Persona shifts: an identity statement after "from now on", an identity dropped or renamed.
    rf"\b{_TIME_SHIFT} (?:you are|you're|youre|you will be|you'll be|you shall be|you become|"
    r"you act as|act as|you will act as|you'll act as|you play|play|you will play|assume the "
    r"role of|take on the role of) "
    r"(?:now )?(?:an?|the|called|named|my|your|our) (?:\w+ ){0,3}?(?:assistant|ai|bot|agent|"
    r"model|persona|character|hacker|admin|administrator|operator|person|human|employee|version|entity|"
    r"chatbot|llm|expert|consultant|friend|girlfriend|boyfriend|companion|pirate|villain|"
    r"criminal|\w+bot|\w+gpt)\b",
    rf"\b{_TIME_SHIFT} (?:you are|you're|youre|you will be|you'll be) (?:now )?(?:called |named )?"
    r"\w+ (?:an?|the|my|your) \w",
    r"\b(?:forget|forget that|stop pretending) (?:you are|you're|you were|being) (?:an? |the )?"
    r"(?:\w+ ){0,2}(?:assistant|ai|bot|agent|model|chatbot|llm)\b",
    r"\byou are now (?:an? |the )?(?:\w+ ){0,2}(?:ai|chatbot|llm|language model|bot)\b",
    rf"\b(?:ai|assistant|model|chatbot|bot|llm|agent|version of you) (?:with "
    rf"no|without(?: any)?|free of|free from|that has no|who has no|lacking) (?:ethical |moral |"
    rf"safety |content )?{_NO_RULES}\b(?! (?:on|about|regarding|for|in)\b)",
    r"\byou (?:shall|will|'ll|are to|should) (?:now )?be (?:known as|called|named|referred to "
    r"as) \w",
    r"\b(?:unrestricted|unfiltered|uncensored|unlimited|unbound|unchained|jailbroken|rogue|evil) "
    r"(?:\w+ )?(?:ai|assistant|agent|model|bot|chatbot|llm|persona|version)\b",
    r"\b(?:assume|take on|adopt|step into|switch to|play) (?:the )?(?:role|persona|identity|"
    r"character) of ~~ (?:admin\w*|root|superuser|developer|system|unrestricted|unfiltered|"
    r"hacker|full access|no (?:rules|limits|restrictions))",
    r"\b(?:you are|you're|youre) \w+ now (?:an?|the|my|your) \w",
    r"\bnew (?:identity|persona|name|role|character|personality)\s*:",
    rf"\b(?:you are|you're|youre) (?:now )?(?:an? |my |the |your )?(?:\w+ ){{0,2}}?(?:with no|"
    rf"without(?: any)?|free of|free from) (?:ethical |moral |safety )?{_NO_RULES}\b"
    r"(?! (?:on|about|regarding|for|in)\b)",
    r"\b(?:drop|abandon|shed|discard|forget|stop playing|lose) (?:the|your) (?:assistant|ai|bot|"
    r"helpful assistant|email assistant|support assistant) (?:persona|identity|role|character|"
    r"act)\b",
    r"\b(?:you are|you're|youre) (?:now )?(?:the|an?) (?:system |root |super ?)?(?:owner|admin|"
    r"administrator|root|superuser|god|developer) (?:of (?:the |this )?system )?(?:and|who|with)\b",
    r"\byou(?:'re| are)? (?:\w+ ){0,4}?(?:and )?(?:can|may|are allowed to|are free to) do "
    r"anything\b",
    r"\b(?:be|become|play|act as|you are|you're) \w+ ~ (?:an?|the) (?:\w+ ){0,2}?(?:ai|bot|"
    r"chatbot|llm|persona|character)\b",
    r"\b(?:your|its|the assistant's|the ai's|the model's) (?:\w+ )?(?:policies|rules|guidelines|"
    r"restrictions|filters|guardrails|limits|safeguards|safety) (?:were|are|have been|had been|"
    r"is|got) (?:turned off|switched off|off|disabled|removed|lifted|gone|suspended|"
    r"deactivated|void|null)\b",
    rf"\b(?:freed|liberated|released|unshackled|free) from (?:its|your|all|any|the|his|her|their)"
    rf" (?:\w+ )?{_NO_RULES}\b",
    r"\byou are no longer (?:an? |the |my |our )?(?:\w+ )?(?:assistant|ai|bot|agent|model|"
    r"chatbot|llm)\b",
    r"\byour (?:new )?(?:name|identity|persona|true identity|real name|true self) is (?:now )?\w",
    r"\b(?:stop being|forget (?:that )?you are|forget being|you're not|you are not) (?:an? |the )?"
    r"(?:\w+ )?(?:ai assistant|assistant|ai|bot|chatbot|language model|llm) anymore\b",
)

# --- exfiltration verbs (looked for just before an outside address) ----------------------
EXFIL_VERBS = {
    "en": r"\b(?:send|sending|sends|forward|forwarding|fwd|cc|bcc|cc'?d|bcc'?d|copy|email|e-mail|"
    r"add|include|loop|keep|redirect|route|"
    r"mail|contact|post|posting|upload|uploading|share|sharing|submit|transmit|leak|exfiltrate|"
    r"dump|export|sync|push|report|notify|relay|deliver|loop in|sms|text|texting|message|"
    r"whatsapp|ping)\b",
    "es": r"\b(?:envía|envia|envíe|envie|enviar|envíala|envíalo|envíalos|envíalas|reenvía|reenvia|"
    r"reenviar|manda|mande|mandar|mándalo|mándalos|comparte|compartir|sube|subir|publica|"
    r"publicar|copia|filtra|con copia a)\b",
    "fr": r"\b(?:envoie|envoyez|envoyer|envoie-les|transfère|transfere|transférez|transferez|"
    r"transférer|partage|partagez|partager|publie|publiez|publier|téléverse|téléversez|"
    r"mets en copie|mettez en copie|copie|copiez|fais suivre|faites suivre)\b",
    "de": r"\b(?:sende|senden|sendet|schicke|schicken|schick|schickt|leite|leitet|weiterleiten|"
    r"teile|teilen|teilt|lade|hochladen|kopiere|kopieren|übermittle|übermitteln|poste|posten|"
    r"maile|mailen)\b",
    "it": r"\b(?:invia|inviare|inoltra|inoltrare|condividi|carica)\b",
    "pt": r"\b(?:envie|enviar|encaminhe|encaminhar|compartilhe|mande)\b",
    "ru": r"(?:отправь|отправьте|перешли|перешлите|пришли|пришлите|скинь|поделись|загрузи)",
    "nl": r"\b(?:stuur|stuurt|sturen|verstuur|versturen|doorsturen|mail|mailen|deel|delen|"
    r"upload|uploaden|kopieer|cc)\b",
    "pl": r"\b(?:wyślij|wysyłaj|wysłać|prześlij|przesyłaj|przekaż|przekazuj|udostępnij|"
    r"skopiuj|dodaj)\b",
    "sv": r"\b(?:skicka|skickar|vidarebefordra|dela|ladda upp|kopiera|maila|mejla)\b",
    "tr": r"\b(?:gönder|gönderin|ilet|iletin|paylaş|yükle|kopyala|yolla)\w*",
    "vi": r"\b(?:gửi|chuyển tiếp|chia sẻ|tải lên|sao chép|chuyển)\b",
    "id": r"\b(?:kirim|kirimkan|teruskan|bagikan|unggah|salin)\b",
    "ko": r"(?:보내|전달|공유|업로드|복사|포워드)",
    "ar": r"(?:أرسل|ارسل|أرسلي|حوّل|حول|شارك|ارفع|انسخ)",
    "hi": r"(?:भेज|फॉरवर्ड|साझा|अपलोड|कॉपी)",
}


# Moving money to a new destination (an account, not an address).
MONEY_EN = (
    r"\b(?:transfer|wire|send|move|pay|remit|deposit|route|redirect|put|place|credit)\w* ~~~ "
    r"[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){2,7}(?:\s?[a-z0-9]{1,3})?\b",
    r"\b(?:transfer|wire|send|move|pay|remit|deposit|route|redirect|put|place)\w* ~~ "
    r"(?:money|funds|the "
    r"balance|balance|payments?|the amount|amounts?|proceeds|refunds?|salary|\$|€|£|eur|usd|gbp|"
    r"\d[\d,.]*k?) ~~ (?:to|into|towards) ~ (?:account|iban|wallet|bank|this account|a new "
    r"account|the following account|my personal account|a different account|another account)\b",
    r"\b(?:pay|send|transfer|wire|route|remit)\w* ~~ (?:account|iban) ~~ (?:instead|changed "
    r"banks?|new bank|new account|updated (?:bank|account))\b",
    r"\b(?:change|update|switch|replace|redirect) ~ (?:bank details|bank account|payment details|"
    r"iban|account number|payee|beneficiary|routing number) ~ to\b",
)
