"""What the concierge says, in en / fr / rw. One place, so tests and translators find every string."""

from __future__ import annotations

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
}


def text_for(key: str, language: str) -> str:
    table = TEXTS[key]
    return table.get(language) or table["en"]
