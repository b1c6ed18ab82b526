"""What the concierge says, in en / fr / rw. One place, so tests and translators find every string."""

from __future__ import annotations

# The languages the concierge reads and writes; a client's language is always one of these.
LANGUAGES = ("en", "fr", "rw")

TEXTS: dict[str, dict[str, str]] = {
    "processing": {
        "en": "I'm processing your request. A team member will follow up shortly.",
        "fr": "Je traite votre demande. Un membre de l'équipe vous recontactera rapidement.",
        "rw": "Ndimo gukurikirana ubusabe bwanyu. Umukozi wacu arabavugisha vuba.",
    },
    "searching": {
        "en": "Thanks! I'm asking nearby vendors now and will send you the best options shortly.",
        "fr": "Merci ! Je contacte les vendeurs proches et je vous envoie les meilleures options bientôt.",
        "rw": "Murakoze! Ndimo kubaza abacuruzi bari hafi, ndaboherereza amahitamo meza vuba.",
    },
    "still_waiting": {
        "en": "Still waiting for vendors to reply. I'll update you as soon as I hear back.",
        "fr": "J'attends encore les réponses des vendeurs. Je vous tiens informé dès que possible.",
        "rw": "Turacyategereje ibisubizo by'abacuruzi. Turabamenyesha vuba.",
    },
    "timeout": {
        "en": "Sorry, no vendor could confirm your request in time. Please try again later.",
        "fr": "Désolé, aucun vendeur n'a pu confirmer votre demande à temps. Réessayez plus tard.",
        "rw": "Mutwihanganire, nta mucuruzi wabashije kwemeza ubusabe bwanyu ku gihe. Mwongere mugerageze nyuma.",
    },
    "idle_closed": {
        "en": "I haven't heard back, so I'm closing this request. Message me any time to start again.",
        "fr": "Sans nouvelles de votre part, je clôture cette demande. Écrivez-moi quand vous voulez.",
        "rw": "Ntabwo mwadusubije, tubaye dufunze ubu busabe. Mutwandikire igihe cyose mushaka.",
    },
    "cancelled": {
        "en": "Your request is cancelled. You will receive no more messages about it.",
        "fr": "Votre demande est annulée. Vous ne recevrez plus de messages à ce sujet.",
        "rw": "Ubusabe bwanyu bwahagaritswe. Ntimuzongera kubona ubutumwa kuri bwo.",
    },
    "vendor_stop_confirmation": {
        "en": "You will not receive any more requests from us. Thank you.",
        "fr": "Vous ne recevrez plus de demandes de notre part. Merci.",
        "rw": "Ntimuzongera kubona ubusabe bwacu. Murakoze.",
    },
    "no_vendors": {
        "en": "I couldn't find vendors for this nearby. Could you try another area or describe the item differently?",
        "fr": "Je n'ai pas trouvé de vendeurs proches. Pouvez-vous essayer un autre quartier ou décrire l'article autrement ?",
        "rw": "Sinabonye abacuruzi hafi. Mwagerageza ahandi cyangwa mugasobanura igicuruzwa mu bundi buryo?",
    },
    "widen_search": {
        "en": "The vendors I asked don't have it right now. Should I search a wider area or for an alternative?",
        "fr": "Les vendeurs contactés ne l'ont pas en ce moment. Dois-je chercher plus loin ou une alternative ?",
        "rw": "Abacuruzi nabajije ntabyo bafite ubu. Nshakire kure cyangwa ikindi gisa nacyo?",
    },
    "unsupported_type": {
        "en": "Sorry, I can only read text, photos and documents. Please type what you need.",
        "fr": "Désolé, je ne lis que le texte, les photos et les documents. Écrivez ce dont vous avez besoin.",
        "rw": "Mutwihanganire, dusoma inyandiko, amafoto n'impapuro gusa. Nimwandike icyo mukeneye.",
    },
    "ocr_off": {
        "en": "I can't read images yet. Please type the name of the product or medicine you need.",
        "fr": "Je ne peux pas encore lire les images. Écrivez le nom du produit ou du médicament.",
        "rw": "Ntabwo turasoma amafoto. Nimwandike izina ry'igicuruzwa cyangwa umuti mukeneye.",
    },
    "consent_prompt_vendor": {
        "en": "No clear answer from a vendor yet. May I call the vendor for you to speed this up? Reply YES or NO.",
        "fr": "Pas encore de réponse claire d'un vendeur. Puis-je appeler le vendeur pour vous afin d'accélérer ? Répondez OUI ou NON.",
        "rw": "Nta gisubizo gisobanutse turabona ku mucuruzi. Twamuhamagara ngo byihute? Subiza YEGO cyangwa OYA.",
    },
    "consent_prompt_client": {
        "en": "May I call you on this number about your request? Reply YES or NO.",
        "fr": "Puis-je vous appeler à ce numéro au sujet de votre demande ? Répondez OUI ou NON.",
        "rw": "Twabahamagara kuri iyi nimero ku bijyanye n'ubusabe bwanyu? Subiza YEGO cyangwa OYA.",
    },
    "consent_prompt_either": {
        "en": "May I call you, and the vendor if it helps, about your request? Reply YES or NO.",
        "fr": "Puis-je vous appeler, ainsi que le vendeur si cela aide, au sujet de votre demande ? Répondez OUI ou NON.",
        "rw": "Twabahamagara, n'umucuruzi niba bifasha, ku bijyanye n'ubusabe bwanyu? Subiza YEGO cyangwa OYA.",
    },
    "consent_granted": {
        "en": "Thank you. I'll call only if it helps, and keep you updated here.",
        "fr": "Merci. J'appellerai seulement si cela aide, et je vous tiens informé ici.",
        "rw": "Murakoze. Tuzahamagara gusa niba bifasha, kandi tubamenyeshe hano.",
    },
    "consent_denied": {
        "en": "Understood, no call. I'll continue by chat.",
        "fr": "C'est noté, pas d'appel. Je continue par message.",
        "rw": "Byumvikanye, nta guhamagara. Turakomeza kuganira hano.",
    },
    "call_not_needed": {
        "en": "Thank you. Your request is already complete, so no call is needed.",
        "fr": "Merci. Votre demande est déjà terminée, aucun appel n'est nécessaire.",
        "rw": "Murakoze. Ubusabe bwanyu bwarangiye, nta mpamvu yo guhamagara.",
    },
    "call_fallback": {
        "en": "Call didn't go through; continuing via chat.",
        "fr": "L'appel n'a pas abouti ; on continue par message.",
        "rw": "Guhamagara ntibyakunze; turakomeza kuganira hano.",
    },
    "calling_unavailable": {
        "en": "I can't place calls right now; let's continue here in chat.",
        "fr": "Je ne peux pas appeler pour le moment ; continuons ici par message.",
        "rw": "Ubu ntidushobora guhamagara; reka dukomeze kuganira hano.",
    },
    "ocr_failed": {
        "en": "I couldn't read that file. Please send a clearer photo or type what you need.",
        "fr": "Je n'ai pas pu lire ce fichier. Envoyez une photo plus nette ou écrivez votre besoin.",
        "rw": "Ntitwabashije gusoma iyo dosiye. Mwohereze ifoto igaragara neza cyangwa mwandike icyo mukeneye.",
    },
    "ocr_budget": {
        "en": "I've already read two images for this request. Please type what you need.",
        "fr": "J'ai déjà lu deux images pour cette demande. Écrivez ce dont vous avez besoin.",
        "rw": "Twamaze gusoma amafoto abiri kuri ubu busabe. Nimwandike icyo mukeneye.",
    },
    # The clarifying questions of a need that lacks its item or its place (``need_questions``).
    "ask_item": {
        "en": "What are you looking for? Please tell me the product and any detail that matters (brand, model, size).",
        "fr": "Que recherchez-vous ? Dites-moi le produit et les détails utiles (marque, modèle, taille).",
        "rw": "Murashaka iki? Mutubwire igicuruzwa n'ibisobanuro by'ingenzi (ubwoko, moderi, ingano).",
    },
    "ask_medicine": {
        "en": "Which medicine do you need? Please give its name and strength (for example Paracetamol 500mg).",
        "fr": "Quel médicament vous faut-il ? Donnez son nom et son dosage (par exemple Paracétamol 500mg).",
        "rw": "Ni uwuhe muti mukeneye? Mutubwire izina ryawo n'ingano yawo (urugero: Paracetamol 500mg).",
    },
    "ask_place": {
        "en": "Where should I look{for_item}? Tell me a neighbourhood or landmark in Kigali (for example Kimironko or Remera).",
        "fr": "Dans quel quartier dois-je chercher{for_item} ? Donnez un quartier ou un repère à Kigali (par exemple Kimironko ou Remera).",
        "rw": "Ni hehe twabibashakira? Mutubwire agace cyangwa ahantu hazwi i Kigali (urugero: Kimironko cyangwa Remera).",
    },
    # The coded workflow's hand-over to a person, and its questions when the needs rules have none.
    "safe_escalation": {
        "en": "Thanks for your patience. A team member will follow up with you shortly.",
        "fr": "Merci de votre patience. Un membre de l'équipe va vous recontacter rapidement.",
        "rw": "Murakoze kwihangana. Umwe mu bakozi bacu arabavugisha vuba.",
    },
    "coded_ask_place": {
        "en": "Where should we look (a neighbourhood or landmark in Kigali)?",
        "fr": "Dans quel quartier devons-nous chercher ?",
        "rw": "Ni hehe twashakira (agace cyangwa ikimenyetso i Kigali)?",
    },
    "coded_ask_item": {
        "en": "What are you looking for? Please describe the product or medicine.",
        "fr": "Que cherchez-vous ? Décrivez le produit ou le médicament.",
        "rw": "Murashaka iki? Nimusobanure igicuruzwa cyangwa umuti.",
    },
}

# "Where should I look for {item}?": Kinyarwanda asks without naming the item.
ASK_PLACE_FOR_ITEM = {"en": " for {item}", "fr": " {item}"}


# The words of the shortlist message (see ``shortlist.format_shortlist``).
SHORTLIST: dict[str, dict[str, str]] = {
    "en": {
        "intro_need": "Here are the vendors we found for: {need}",
        "intro": "Here are the vendors we found:",
        "price": "Price", "stock": "Stock", "location": "Location", "options": "Options",
        "in_stock": "in stock", "out_of_stock": "out of stock", "unclear": "not confirmed",
        "no_price": "price not given", "no_location": "not given",
        "away": "about {km} km away", "no_link": "number unavailable, reply here and we will help",
        "outro": "Tap a link to chat with the vendor directly.",
    },
    "fr": {
        "intro_need": "Voici les vendeurs trouvés pour : {need}",
        "intro": "Voici les vendeurs trouvés :",
        "price": "Prix", "stock": "Stock", "location": "Adresse", "options": "Options",
        "in_stock": "en stock", "out_of_stock": "en rupture", "unclear": "non confirmé",
        "no_price": "prix non communiqué", "no_location": "non précisée",
        "away": "à environ {km} km", "no_link": "numéro indisponible, répondez ici et nous vous aiderons",
        "outro": "Touchez un lien pour écrire directement au vendeur.",
    },
    "rw": {
        "intro_need": "Dore abacuruzi twabonye ku byo mwasabye: {need}",
        "intro": "Dore abacuruzi twabonye:",
        "price": "Igiciro", "stock": "Birahari", "location": "Aho baherereye", "options": "Amahitamo",
        "in_stock": "yego", "out_of_stock": "oya", "unclear": "ntibyemejwe",
        "no_price": "igiciro nticyatanzwe", "no_location": "ntibyavuzwe",
        "away": "nko muri km {km}", "no_link": "nimero ntiboneka, mutwandikire hano tubafashe",
        "outro": "Kanda ku murongo (link) uvugane n'umucuruzi mu buryo butaziguye.",
    },
}

# The titles of the YES / NO buttons under a consent prompt (WhatsApp caps a title at 20 characters).
CONSENT_BUTTONS: dict[str, tuple[str, str]] = {"en": ("Yes", "No"), "fr": ("Oui", "Non"), "rw": ("Yego", "Oya")}


# --- what the concierge says to vendors (``outreach.compose_vendor_message``) ---------------------
# The standard questions of a request to vendors, in English.
DEFAULT_QUESTIONS = (
    "Do you have it in stock? (yes/no)",
    "Price range in RWF (min-max)?",
    "Your location or a landmark?",
    "Options available (brand, size, colour)?",
)

# The standard questions in the vendor's language (the coded plan and most brain plans use them);
# a question the brain wrote itself is sent as written. Wording to be reviewed by native speakers.
VENDOR_QUESTIONS: dict[str, dict[str, str]] = {
    DEFAULT_QUESTIONS[0]: {"fr": "L'avez-vous en stock ? (oui/non)", "rw": "Murabifite? (yego/oya)"},
    DEFAULT_QUESTIONS[1]: {"fr": "Fourchette de prix en RWF (min-max) ?", "rw": "Igiciro mu RWF (gito-kinini)?"},
    DEFAULT_QUESTIONS[2]: {"fr": "Votre emplacement ou un point de repère ?", "rw": "Muherereye he cyangwa hafi y'iki?"},
    DEFAULT_QUESTIONS[3]: {"fr": "Options disponibles (marque, taille, couleur) ?",
                           "rw": "Amahitamo ahari (ubwoko, ingano, ibara)?"},
}

VENDOR_INTRO = {
    "en": "Hello {name}, a client nearby is looking for:",
    "fr": "Bonjour {name}, un client près de chez vous cherche :",
    "rw": "Muraho {name}, umukiriya uri hafi yanyu arashaka:",
}
VENDOR_HINT = {
    "en": "Reply with the numbers, e.g. \"1. yes 2. 3,000-4,500 3. near the market\".",
    "fr": "Répondez avec les numéros, ex. « 1. oui 2. 3 000-4 500 3. près du marché ».",
    "rw": "Subiza ukoresheje imibare, urugero: \"1. yego 2. 3,000-4,500 3. hafi y'isoko\".",
}
VENDOR_STOP = {
    "en": "Reply STOP to receive no more requests.",
    "fr": "Répondez STOP pour ne plus recevoir de demandes.",
    "rw": "Subiza HAGARIKA niba udashaka kongera kubona ubusabe.",
}


def text_for(key: str, language: str) -> str:
    table = TEXTS[key]
    return table.get(language) or table["en"]
