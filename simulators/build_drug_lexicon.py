"""Build ``concierge/data/drug_lexicon.json`` from the drug vocabulary shipped by the PyPI package
``drug-named-entity-recognition`` (MIT; its dictionary merges the DrugBank open vocabulary, CC0, with
MeSH and MedlinePlus names).

The list of generics below is the project's own choice of common essential medicines (INN names, as a
Rwandan pharmacy prints them); the package supplies the synonyms and brand names for each. A handful of
fixed-dose combinations that the package does not name are added by hand and marked as such.

Run: ``python -m simulators.build_drug_lexicon [OUT]`` (default: concierge/data/drug_lexicon.json).
"""

from __future__ import annotations

import bz2
import json
import pickle
import re
import sys
import unicodedata
from importlib import metadata
from pathlib import Path

GENERICS = """
Abacavir Acetylsalicylic acid Aciclovir Adrenaline Albendazole Allopurinol Amiodarone Amitriptyline
Amlodipine Amoxicillin Amphotericin B Ampicillin Artemether Artesunate Ascorbic acid Atenolol
Atorvastatin Atropine Azathioprine Azithromycin Beclometasone Benzathine benzylpenicillin
Benzylpenicillin Betamethasone Bisacodyl Bisoprolol Budesonide Bupivacaine Captopril Carbamazepine
Carvedilol Cefalexin Cefazolin Cefixime Ceftazidime Ceftriaxone Cefuroxime Cetirizine Chloramphenicol
Chloroquine Chlorhexidine Chlorphenamine Chlorpromazine Ciprofloxacin Clarithromycin Clindamycin
Clobetasol Clofazimine Clomifene Clonazepam Clopidogrel Clotrimazole Cloxacillin Codeine Colchicine
Cyclophosphamide Dapsone Dexamethasone Diazepam Diclofenac Digoxin Diphenhydramine Domperidone
Doxycycline Efavirenz Enalapril Ephedrine Ergocalciferol Erythromycin Esomeprazole Ethambutol
Fluconazole Fluoxetine Folic acid Furosemide Gentamicin Glibenclamide Gliclazide Glimepiride
Griseofulvin Haloperidol Heparin Hydralazine Hydrochlorothiazide Hydrocortisone Hydroxychloroquine
Hyoscine butylbromide Ibuprofen Insulin glargine Ipratropium bromide Isoniazid Isosorbide dinitrate
Ivermectin Ketamine Ketoconazole Labetalol Lactulose Lamivudine Lamotrigine Levetiracetam
Levofloxacin Levonorgestrel Levothyroxine Lidocaine Lisinopril Loperamide Loratadine Lorazepam
Losartan Lumefantrine Mebendazole Medroxyprogesterone Mefloquine Metformin Methyldopa Metoclopramide
Metoprolol Metronidazole Miconazole Misoprostol Morphine Naloxone Neomycin Nevirapine Nifedipine
Nitrofurantoin Nystatin Omeprazole Ondansetron Oxytocin Pantoprazole Paracetamol Penicillin
Permethrin Phenobarbital Phenoxymethylpenicillin Phenytoin Pioglitazone Piperacillin Praziquantel
Prednisolone Prednisone Primaquine Procaine benzylpenicillin Promethazine Propranolol
Pyrazinamide Pyridoxine Pyrimethamine Quinine Ranitidine Rifampicin Risperidone Salbutamol
Sertraline Simvastatin Spironolactone Sulfadiazine Sulfamethoxazole Tamoxifen
Tenofovir Terbinafine Tetracycline Thiamine Tinidazole Tramadol Tranexamic acid Trimethoprim
Valproic acid Vancomycin Verapamil Warfarin Zidovudine Zinc sulfate Dolutegravir Emtricitabine
Lopinavir Ritonavir Atazanavir Darunavir Oseltamivir Valaciclovir Famciclovir
Mupirocin Fusidic acid Silver sulfadiazine Salicylic acid Benzoyl peroxide Calamine Hydroxyzine
Fexofenadine Desloratadine Montelukast Theophylline Aminophylline Fluticasone Mometasone
Triamcinolone Methylprednisolone Fludrocortisone Carbimazole Propylthiouracil Metolazone
Bumetanide Indapamide Nitroglycerin Isosorbide mononitrate Rosuvastatin Pravastatin Ezetimibe
Aspirin Enoxaparin Rivaroxaban Apixaban Dabigatran Alprazolam Zolpidem Olanzapine Quetiapine
Aripiprazole Lithium Escitalopram Citalopram Paroxetine Venlafaxine Duloxetine Mirtazapine
Gabapentin Pregabalin Topiramate Sumatriptan Baclofen Tizanidine Methocarbamol Naproxen
Meloxicam Celecoxib Indometacin Ketoprofen Piroxicam Mefenamic acid Oxycodone Pethidine Fentanyl
Tamsulosin Finasteride Sildenafil Oxybutynin Norethisterone Estradiol Progesterone
Ethinylestradiol Ferrous sulfate Cyanocobalamin Calcium carbonate Magnesium hydroxide
Aluminium hydroxide Simethicone Sucralfate Famotidine Cimetidine Lansoprazole Rabeprazole
Hyoscine Dicycloverine Prochlorperazine Meclizine Cinnarizine Betahistine Levocetirizine
Secnidazole Nitazoxanide Tinidazole Cefpodoxime Cefdinir Linezolid Moxifloxacin Ofloxacin
Norfloxacin Streptomycin Amikacin Meropenem Imipenem Colistin Fosfomycin
""".split()

# Multi-word INN names: GENERICS is split on whitespace, so they are rejoined here.
MULTI = [
    "Acetylsalicylic acid", "Amphotericin B", "Ascorbic acid", "Benzathine benzylpenicillin",
    "Folic acid", "Hyoscine butylbromide", "Insulin glargine", "Ipratropium bromide",
    "Isosorbide dinitrate", "Procaine benzylpenicillin", "Tranexamic acid",
    "Valproic acid", "Zinc sulfate", "Fusidic acid", "Silver sulfadiazine", "Salicylic acid",
    "Benzoyl peroxide", "Isosorbide mononitrate", "Mefenamic acid", "Ferrous sulfate",
    "Calcium carbonate", "Magnesium hydroxide", "Aluminium hydroxide",
]

# Where the source files an INN under its US name: look it up there, keep the INN as the generic.
SOURCE_NAME = {"Aciclovir": "acyclovir"}
EXTRA_SYNONYMS = {"Valproic acid": ["sodium valproate"], "Aciclovir": ["acyclovir"], "Zinc sulfate": ["zinc"]}

# Fixed-dose combinations and common names the package lacks: the project's own additions
# (brand and common names are facts; each maps onto generics in the list above).
COMBINATIONS = {
    "Amoxicillin/Clavulanate": ["augmentin", "co-amoxiclav", "coamoxiclav", "amoxiclav",
                                "amoxicillin clavulanate", "amoxicillin and clavulanate"],
    "Artemether/Lumefantrine": ["coartem", "riamet", "artemether lumefantrine",
                                "artemether and lumefantrine"],
    "Sulfamethoxazole/Trimethoprim": ["co-trimoxazole", "cotrimoxazole", "bactrim", "septrin",
                                      "sulfamethoxazole trimethoprim"],
    "Oral rehydration salts": ["ors", "oral rehydration salt", "oral rehydration solution"],
}


def _key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


def _generics() -> list[str]:
    words = list(GENERICS)
    names: list[str] = []
    i = 0
    while i < len(words):
        m = next((m for m in MULTI if " ".join(words[i : i + len(m.split())]) == m), None)
        names.append(m or words[i])
        i += len(m.split()) if m else 1
    seen: set[str] = set()
    return [n for n in names if not (_key(n) in seen or seen.add(_key(n)))]


# Synonyms worth matching on a printed page: a word or two, letters only (no salts, no chemistry).
_PLAIN = re.compile(r"^[a-z][a-z\- ]{2,24}$")
_CHEMISTRY = ("salt", "hydrochloride", "sodium ", "potassium", "anhydrous", "trihydrate", "sulfate ")


def _load_package_dictionary() -> dict:
    import drug_named_entity_recognition

    path = Path(drug_named_entity_recognition.__file__).parent / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301 - the package's own shipped data file


def build() -> dict:
    d = _load_package_dictionary()
    v2c: dict[str, list[str]] = d["drug_variant_to_canonical"]
    c2d: dict[str, dict] = d["drug_canonical_to_data"]
    by_canonical: dict[str, list[str]] = {}
    for variant, canonicals in v2c.items():
        for c in canonicals:
            by_canonical.setdefault(c, []).append(variant)

    drugs: dict[str, dict] = {}
    missing: list[str] = []
    by_drugbank: dict[str, str] = {}
    for generic in _generics():
        canon = v2c.get(SOURCE_NAME.get(generic, _key(generic)))
        if not canon or len(canon) != 1:
            # Still a medicine a pharmacy sells: kept by name alone, marked as the project's.
            missing.append(generic)
            drugs[generic] = {"synonyms": [], "added_by": "project"}
            continue
        c = canon[0]
        syns = {_key(v) for v in by_canonical.get(c, [])} | {_key(c)}
        syns = {s for s in syns if _PLAIN.match(s) and not any(t in s + " " for t in _CHEMISTRY)}
        syns |= set(EXTRA_SYNONYMS.get(generic, []))
        dbid = c2d.get(c, {}).get("drugbank_id")
        first = by_drugbank.get(dbid) if dbid else None
        if first:
            # Aspirin and Acetylsalicylic acid are one drug: the first name listed stays generic.
            merged = set(drugs[first]["synonyms"]) | syns | {_key(generic)}
            drugs[first]["synonyms"] = sorted(merged - {_key(first)})
            continue
        syns.discard(_key(generic))
        entry: dict = {"synonyms": sorted(syns)}
        if dbid:
            entry["drugbank_id"] = dbid
            by_drugbank[dbid] = generic
        drugs[generic] = entry
    for combo, names in COMBINATIONS.items():
        drugs[combo] = {"synonyms": sorted({_key(n) for n in names}), "added_by": "project"}

    # A synonym claimed by two generics would make canonical() guess: drop it from both.
    owners: dict[str, list[str]] = {}
    for generic, entry in drugs.items():
        for s in [_key(generic), *entry["synonyms"]]:
            owners.setdefault(s, []).append(generic)
    for entry in drugs.values():
        entry["synonyms"] = [s for s in entry["synonyms"] if len(owners[s]) == 1]

    version = metadata.version("drug-named-entity-recognition")
    return {
        "_source": (
            f"Synonyms and brand names from the PyPI package drug-named-entity-recognition {version} "
            "(MIT licence, Fast Data Science), whose dictionary merges the DrugBank open vocabulary "
            "(CC0 1.0), MeSH (NLM, public domain) and MedlinePlus drug names. The list of generics "
            "and the entries marked added_by=project are this project's own. Built by "
            "simulators/build_drug_lexicon.py."
        ),
        "_licence": "CC0 1.0 (DrugBank open vocabulary) / MIT (package); not the WHO EML",
        "_not_in_source": missing,
        "drugs": dict(sorted(drugs.items())),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "concierge/data/drug_lexicon.json"
    lexicon = build()
    out.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False, sort_keys=False) + "\n")
    print(f"{len(lexicon['drugs'])} drugs -> {out} (not in source: {lexicon['_not_in_source']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
