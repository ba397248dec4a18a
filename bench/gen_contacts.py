"""Deterministic generator of external-contact CSV files for the benches.

    .venv/bin/python bench/gen_contacts.py                      # 1,000,000 rows, `,`, UTF-8
    .venv/bin/python bench/gen_contacts.py --rows 500000        # the first half of the same rows
    .venv/bin/python bench/gen_contacts.py --offset 500000      # rows 500,000-1,499,999: half already in the default file
    .venv/bin/python bench/gen_contacts.py --sep ';' --encoding cp1252   # French Excel's CSV

Row i of the stream is a pure function of (seed, i): a file of N rows from offset K holds
rows K … K+N-1, so files generated with the same seed share exactly the rows they overlap on.

Names are "Last First" or "Last First X." (a middle initial), unique case-insensitively: row i
takes combination (i × A) mod M of M = last × first × 27 variants (A coprime with M, so the
map is a bijection); past M rows a number is appended. About 1% of the rows are invalid on
purpose (a bad phone, a mobile in an unassigned range, a bad email, a name over 100
characters, no name), 0.1% repeat an earlier valid name of the same file in capitals (they
must be rejected as "appears earlier in the file"). What the file should give on an empty
table is written next to it as <file>.json, for the benches to check against.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
import unicodedata
from bisect import bisect
from itertools import accumulate
from math import gcd
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "var" / "bench"
HEADER = ["Name", "Address", "Phone", "Mobile", "Other", "Email"]
SEED = 20260101
BLOCK = 1024

LAST_NAMES = [
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Lefevre",
    "Faure",
    "Andre",
    "Mercier",
    "Blanc",
    "Guerin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "Francois",
    "Legrand",
    "Gauthier",
    "Garcia",
    "Perrin",
    "Robin",
    "Clement",
    "Morin",
    "Nicolas",
    "Henry",
    "Roussel",
    "Mathieu",
    "Gautier",
    "Masson",
    "Marchand",
    "Duval",
    "Denis",
    "Dumont",
    "Marie",
    "Lemaire",
    "Noel",
    "Meyer",
    "Dufour",
    "Meunier",
    "Brun",
    "Blanchard",
    "Giraud",
    "Joly",
    "Riviere",
    "Lucas",
    "Brunet",
    "Gaillard",
    "Barbier",
    "Arnaud",
    "Martinez",
    "Gerard",
    "Roche",
    "Renard",
    "Schmitt",
    "Roy",
    "Leroux",
    "Colin",
    "Vidal",
    "Caron",
    "Picard",
    "Roger",
    "Fabre",
    "Aubert",
    "Lemoine",
    "Renaud",
    "Dumas",
    "Lacroix",
    "Olivier",
    "Philippe",
    "Bourgeois",
    "Pierre",
    "Benoit",
    "Rey",
    "Leclerc",
    "Payet",
    "Rolland",
    "Leclercq",
    "Guillaume",
    "Lecomte",
    "Lopez",
    "Jean",
    "Dupuy",
    "Guillot",
    "Hubert",
    "Berger",
    "Carpentier",
    "Sanchez",
    "Dupuis",
    "Moulin",
    "Louis",
    "Deschamps",
    "Huet",
    "Vasseur",
    "Perez",
    "Boucher",
    "Fleury",
    "Royer",
    "Klein",
    "Jacquet",
    "Adam",
    "Paris",
    "Poirier",
    "Marty",
    "Aubry",
    "Guyot",
    "Carre",
    "Charles",
    "Renault",
    "Charpentier",
    "Menard",
    "Maillard",
    "Baron",
    "Bertin",
    "Bailly",
    "Herve",
    "Schneider",
    "Fernandez",
    "Le",
    "Gall",
    "Collet",
    "Leger",
    "Bouvier",
    "Julien",
    "Prevost",
    "Millet",
    "Perrot",
    "Daniel",
    "Le",
    "Roux",
    "Cousin",
    "Germain",
    "Breton",
    "Besson",
    "Langlois",
    "Remy",
    "Le",
    "Goff",
    "Pelletier",
    "Leveque",
    "Perrier",
    "Leblanc",
    "Barre",
    "Lebrun",
    "Marchal",
    "Weber",
    "Mallet",
    "Hamon",
    "Boulanger",
    "Jacob",
    "Monnier",
    "Michaud",
    "Rodriguez",
    "Guichard",
    "Gillet",
    "Etienne",
    "Grondin",
    "Poulain",
    "Tessier",
    "Chevallier",
    "Collin",
    "Chauvin",
    "Da",
    "Silva",
    "Bouchet",
    "Gay",
    "Lemaitre",
    "Benard",
    "Marechal",
    "Humbert",
    "Reynaud",
    "Antoine",
    "Hoarau",
    "Perret",
    "Barthelemy",
    "Cordier",
    "Pichon",
    "Lejeune",
    "Gilbert",
    "Lamy",
    "Delaunay",
    "Pasquier",
    "Carlier",
    "Laporte",
    "Gomez",
    "Leclere",
    "Dupre",
    "Rousset",
    "Vallee",
    "Hoareau",
    "Lebon",
    "Lucas",
    "Marion",
    "Tanguy",
    "Guillou",
    "Leblond",
    "Bousquet",
    "Jourdan",
    "Lacombe",
    "Baudry",
    "Ferrand",
    "Pons",
    "Jacques",
    "Gros",
    "Navarro",
    "Bouvet",
    "Lefort",
    "Gaudin",
    "Camus",
    "Rocher",
    "Picot",
    "Delmas",
    "Aubin",
    "Bigot",
    "Riou",
    "Couturier",
    "Texier",
    "Colas",
    "Hamel",
    "Rousselet",
    "Devaux",
    "Bouchard",
    "Rossi",
    "Delattre",
    "Laine",
    "Levy",
    "Leroi",
    "Dubreuil",
    "Goncalves",
    "Ferreira",
    "Girault",
    "Petitjean",
    "Laurens",
    "Leduc",
    "Tournier",
    "Chartier",
    "Thibault",
    "Drouet",
    "Lebreton",
    "Guillon",
    "Deschamps",
    "Costa",
    "Chevrier",
    "Verdier",
    "Grenier",
    "Bruneau",
    "Fouquet",
    "Marin",
    "Lemercier",
    "Bonneau",
    "Valette",
    "Ollivier",
    "Lagarde",
    "Jolly",
    "Perrault",
    "Sauvage",
    "Gregoire",
    "Gervais",
    "Maury",
    "Raynaud",
    "Coulon",
    "Vernet",
    "Barbe",
    "Loiseau",
    "Pineau",
    "Benoist",
    "Salmon",
    "Bazin",
    "Poulet",
    "Didier",
    "Joubert",
    "Besnard",
    "Ferry",
    "Lesage",
    "Hebert",
    "Fleurot",
    "Parent",
    "Carriere",
    "Allard",
    "Mary",
    "Labbe",
    "Bellamy",
    "Thierry",
    "Normand",
    "Boutin",
    "Bonnin",
    "Cros",
    "Blondel",
    "Delorme",
    "Tissier",
    "Foucher",
    "Hardy",
    "Pottier",
    "Brunel",
    "Chauvet",
    "Guillet",
    "Blanchet",
    "Lemonnier",
    "Maillot",
    "Raymond",
    "Jouan",
    "Peltier",
    "Brunier",
    "Chatelain",
    "Goujon",
    "Bodin",
    "Ledoux",
    "Seguin",
    "Lamotte",
    "Mathis",
    "Hamelin",
    "Jeanne",
    "Marques",
]
LAST_NAMES = list(dict.fromkeys(n.replace("\u00a0", " ") for n in LAST_NAMES))

FIRST_NAMES = [
    "Marie",
    "Jean",
    "Pierre",
    "Michel",
    "Philippe",
    "Nathalie",
    "Isabelle",
    "Alain",
    "Sylvie",
    "Catherine",
    "Nicolas",
    "Christophe",
    "Patrick",
    "Françoise",
    "Christine",
    "Monique",
    "Jacques",
    "Daniel",
    "Sophie",
    "Valérie",
    "Sandrine",
    "Stéphane",
    "Bernard",
    "Éric",
    "Laurent",
    "Frédéric",
    "Véronique",
    "Céline",
    "Julien",
    "Sébastien",
    "David",
    "Thomas",
    "Olivier",
    "Anne",
    "Martine",
    "Nicole",
    "Chantal",
    "Pascal",
    "Thierry",
    "Jacqueline",
    "Annie",
    "Émilie",
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Alice",
    "Lina",
    "Emma",
    "Rose",
    "Anna",
    "Julia",
    "Zoé",
    "Lucas",
    "Hugo",
    "Louis",
    "Gabriel",
    "Arthur",
    "Jules",
    "Raphaël",
    "Adam",
    "Léo",
    "Maël",
    "Paul",
    "Nathan",
    "Ethan",
    "Noah",
    "Théo",
    "Tom",
    "Mathis",
    "Enzo",
    "Clément",
    "Antoine",
    "Maxime",
    "Alexandre",
    "Quentin",
    "Romain",
    "Guillaume",
    "Vincent",
    "François",
    "Benoît",
    "Yves",
    "Gérard",
    "René",
    "Roger",
    "André",
    "Henri",
    "Claude",
    "Hélène",
    "Agnès",
    "Brigitte",
    "Dominique",
    "Élodie",
    "Aurélie",
    "Marion",
    "Audrey",
    "Caroline",
    "Mélanie",
    "Laetitia",
    "Julie",
    "Pauline",
    "Charlotte",
    "Lucie",
    "Margaux",
    "Océane",
    "Mathilde",
    "Clara",
    "Juliette",
    "Anaïs",
    "Justine",
    "Sarah",
    "Morgane",
    "Laura",
    "Amandine",
    "Jean-Pierre",
    "Jean-Claude",
    "Jean-Marc",
    "Jean-Luc",
    "Marie-Claire",
    "Anne-Sophie",
    "Marie-Christine",
    "Pierre-Yves",
    "Jean-François",
    "Marie-Thérèse",
    "Bruno",
    "Denis",
    "Didier",
    "Gilles",
    "Hervé",
    "Joël",
    "Marc",
    "Serge",
    "Xavier",
    "Yannick",
    "Fabrice",
    "Cédric",
    "Jérôme",
    "Ludovic",
    "Arnaud",
    "Damien",
    "Florian",
    "Kévin",
    "Mickaël",
    "Baptiste",
    "Corentin",
    "Gaëlle",
    "Solène",
    "Maëlle",
    "Nolwenn",
    "Ophélie",
    "Capucine",
    "Victoire",
    "Apolline",
]
FIRST_NAMES = list(dict.fromkeys(FIRST_NAMES))
# A name is "Last First" or "Last First X."; these are the variants.
VARIANTS = ["", *(f" {letter}." for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]

STREET_TYPES = [
    ("rue", 60),
    ("avenue", 12),
    ("boulevard", 7),
    ("place", 5),
    ("chemin", 5),
    ("allée", 4),
    ("impasse", 4),
    ("route", 3),
]
STREETS = """de la République|Victor Hugo|Jean Jaurès|de la Gare|du Général de Gaulle|Pasteur|de l'Église
|Gambetta|Jules Ferry|de la Mairie|des Écoles|du Moulin|de la Paix|Nationale|du Château|Carnot
|de la Liberté|des Lilas|du Stade|Émile Zola|Voltaire|de Verdun|du 8 Mai 1945|de Paris|Anatole France
|Saint-Exupéry|des Peupliers|de la Fontaine|du Commerce|Marcel Pagnol|Jean Moulin|des Acacias
|du Maréchal Foch|de Lattre de Tassigny|Georges Clemenceau|de Bretagne|des Tilleuls|de la Poste
|Louis Pasteur|du Port|des Vignes|Molière|Lamartine|des Roses|de la Croix Rousse|du Faubourg Saint-Antoine
|Alsace-Lorraine|de Strasbourg|Pierre Curie|Marie Curie|Colbert|Sadi Carnot|Aristide Briand
|de la Convention|des Martyrs|Oberkampf|de Vaugirard|Lecourbe|Saint-Honoré|de Rivoli""".replace(
    "\n", ""
).split("|")

# (city, postcode prefix, weight). Paris is about 9% of the addresses, as a "common term";
# Rocamadour is planted in ~15 rows per million, as a "rare term" for the list bench.
CITIES = [
    ("Paris", "750", 900),
    ("Marseille", "130", 350),
    ("Lyon", "690", 300),
    ("Toulouse", "310", 250),
    ("Nice", "060", 180),
    ("Nantes", "440", 170),
    ("Montpellier", "340", 160),
    ("Strasbourg", "670", 150),
    ("Bordeaux", "330", 150),
    ("Lille", "590", 140),
    ("Rennes", "350", 120),
    ("Reims", "511", 100),
    ("Toulon", "831", 95),
    ("Saint-Étienne", "420", 95),
    ("Le Havre", "766", 90),
    ("Grenoble", "380", 90),
    ("Dijon", "210", 85),
    ("Angers", "490", 85),
    ("Nîmes", "300", 80),
    ("Villeurbanne", "691", 80),
    ("Clermont-Ferrand", "630", 75),
    ("Le Mans", "720", 75),
    ("Aix-en-Provence", "131", 75),
    ("Brest", "292", 70),
    ("Tours", "370", 70),
    ("Amiens", "800", 70),
    ("Limoges", "870", 65),
    ("Annecy", "740", 60),
    ("Perpignan", "660", 60),
    ("Boulogne-Billancourt", "921", 60),
    ("Metz", "570", 60),
    ("Besançon", "250", 60),
    ("Orléans", "450", 60),
    ("Saint-Denis", "932", 55),
    ("Rouen", "760", 55),
    ("Mulhouse", "681", 55),
    ("Caen", "140", 55),
    ("Nancy", "540", 50),
    ("Argenteuil", "951", 50),
    ("Montreuil", "931", 50),
    ("Roubaix", "591", 45),
    ("Tourcoing", "592", 45),
    ("Avignon", "840", 45),
    ("Poitiers", "860", 45),
    ("La Rochelle", "170", 40),
    ("Pau", "640", 40),
    ("Quimper", "290", 35),
    ("Vannes", "560", 35),
    ("Bayonne", "641", 35),
    ("Colmar", "680", 30),
    ("Chambéry", "730", 30),
    ("Lorient", "561", 30),
    ("Saint-Malo", "354", 30),
    ("Albi", "810", 25),
    ("Carcassonne", "110", 25),
    ("Arles", "132", 25),
    ("Sète", "342", 20),
    ("Millau", "121", 15),
    ("Sarlat-la-Canéda", "242", 10),
    ("Rocamadour", "465", 0.1),
]
NOTES = [
    "Préfère être appelé le matin",
    "Rappeler après 18 h",
    'Client "VIP" depuis 2015',
    "Ne pas appeler le week-end",
    "Parle anglais, espagnol",
    "Contrat renouvelé; échéance en mars",
    "Fournisseur — service après-vente",
    "Standard: demander le service comptabilité",
    "Assistante de direction, ligne directe",
    "A signalé un litige, voir dossier",
    "Interlocuteur technique (astreinte)",
    "Ancien client, à relancer",
    "Prospect salon 2024; intéressé par l'offre pro",
    "Médecin traitant",
    "Notaire de la famille",
    "Gardien de l'immeuble, code 4521B",
    "Mairie — accueil du public",
]
DOMAINS = [
    "orange.fr",
    "free.fr",
    "gmail.com",
    "laposte.net",
    "sfr.fr",
    "wanadoo.fr",
    "hotmail.fr",
    "yahoo.fr",
    "outlook.fr",
    "bbox.fr",
]
# Second digit of valid French numbers (phonenumbers 9.x metadata): 01-05 landlines,
# 06/07 mobiles. 026, 0591 and 0594 are partly allocated and 063/069 mobiles only partly:
# those prefixes are left out so that every generated number is valid by construction.
LANDLINE_SECOND = {
    "1": "0123456789",
    "2": "012345789",
    "3": "0123456789",
    "4": "123456789",
    "5": "012345678",
}
MOBILE_PREFIXES = [
    "60",
    "61",
    "62",
    "64",
    "65",
    "66",
    "67",
    "68",
    "73",
    "74",
    "75",
    "76",
    "77",
    "78",
    "79",
]

# Row kinds, per 100,000 rows. Everything else is a valid row.
INVALID_KINDS = [
    ("bad_phone", 300),  # "12" and friends in Phone
    ("bad_mobile", 200),  # a mobile in an unassigned range (07 1x …)
    ("bad_email", 300),
    ("long_name", 150),  # 101+ characters
    ("no_name", 50),
]
DUPLICATE_PER_100K = 100  # an earlier valid name of the same file, in capitals


def _splitmix64(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


class Stream:
    """Row i of the generator, for a given seed."""

    def __init__(self, seed: int = SEED):
        self.seed = seed
        self.space = len(LAST_NAMES) * len(FIRST_NAMES) * len(VARIANTS)
        multiplier = 7_919_993
        while gcd(multiplier, self.space) != 1:
            multiplier += 2
        self.multiplier = multiplier
        self.kind_bounds = list(accumulate(weight for _kind, weight in INVALID_KINDS))
        self.city_cum = list(accumulate(weight for _city, _code, weight in CITIES))
        self.street_cum = list(accumulate(weight for _type, weight in STREET_TYPES))

    def name(self, i: int) -> str:
        cycle, index = divmod(i, self.space)
        combo = (index * self.multiplier + self.seed) % self.space
        combo, last = divmod(combo, len(LAST_NAMES))
        variant, first = divmod(combo, len(FIRST_NAMES))
        name = f"{LAST_NAMES[last]} {FIRST_NAMES[first]}{VARIANTS[variant]}"
        return f"{name} {cycle + 1}" if cycle else name

    def kind(self, i: int) -> str:
        """'valid', 'duplicate' or one of INVALID_KINDS, as a pure function of (seed, i)."""
        draw = _splitmix64(self.seed * 1_000_003 + i) % 100_000
        if draw < DUPLICATE_PER_100K:
            return "duplicate"
        draw -= DUPLICATE_PER_100K
        position = bisect(self.kind_bounds, draw)
        return INVALID_KINDS[position][0] if position < len(INVALID_KINDS) else "valid"

    def original_of(self, i: int, start: int) -> int | None:
        """The earlier valid row of the same file whose name duplicate row i repeats."""
        j = i - 1 - _splitmix64(self.seed + i) % 5000
        while j >= start and self.kind(j) != "valid":
            j -= 1
        return j if j >= start else None

    def rows(self, start: int, count: int):
        """(kind, row) for rows start … start+count-1."""
        first_block = start // BLOCK
        for block in range(first_block, (start + count - 1) // BLOCK + 1):
            rng = random.Random(self.seed * 7_368_787 + block)
            for i in range(block * BLOCK, (block + 1) * BLOCK):
                # The same draws whether or not the row is kept, so that row i never changes.
                row = self._row(rng, i, start)
                if start <= i < start + count:
                    yield row

    def _row(self, rng: random.Random, i: int, start: int) -> tuple[str, list[str]]:
        kind = self.kind(i)
        name = self.name(i)
        last, first = _split_name(name)
        values = [
            name,
            self._address(rng),
            _landline(rng) if rng.random() < 0.85 else "",
            _mobile(rng) if rng.random() < 0.7 else "",
            rng.choice(NOTES) if rng.random() < 0.4 else "",
            _email(rng, first, last) if rng.random() < 0.8 else "",
        ]
        if kind == "duplicate":
            original = self.original_of(i, start)
            if original is None:
                kind = "valid"
            else:
                values[0] = self.name(original).upper()
        elif kind == "bad_phone":
            values[2] = rng.choice(
                ["12", "01 23 45", "+33 1 23", "0800-TEL", "01 23 45 67 89 00 11"]
            )
        elif kind == "bad_mobile":
            values[3] = (
                f"07 1{rng.randrange(10)} {rng.randrange(100):02d} {rng.randrange(100):02d} {rng.randrange(100):02d}"
            )
        elif kind == "bad_email":
            values[5] = rng.choice(
                [
                    "@orange.fr",
                    "sans-arobase.fr",
                    "deux@@free.fr",
                    "espace dans@gmail.com",
                    "point@fin.",
                ]
            )
        elif kind == "long_name":
            # 101 characters after the importer strips the cell: no space at either end.
            values[0] = (
                (
                    name
                    + " — service des relations clients, direction régionale Grand Ouest, antenne de"
                )[:100]
                .rstrip()
                .ljust(101, "x")
            )
        elif kind == "no_name":
            values[0] = ""
        return kind, values

    def _address(self, rng: random.Random) -> str:
        if rng.random() < 0.05:
            return ""
        city, code, _weight = CITIES[bisect(self.city_cum, rng.random() * self.city_cum[-1])]
        kind = STREET_TYPES[bisect(self.street_cum, rng.random() * self.street_cum[-1])][0]
        number = rng.randrange(1, 200)
        bis = " bis" if rng.random() < 0.03 else ""
        postcode = (
            code
            + (f"{rng.randrange(1, 21):02d}" if code == "750" else f"{rng.randrange(100):02d}")[-2:]
        )
        street = rng.choice(STREETS)
        return f"{number}{bis} {kind} {street}, {postcode} {city}"[:100]


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split(" ")
    for size in (2, 1):
        if " ".join(parts[:size]) in LAST_NAMES:
            return " ".join(parts[:size]), parts[size]
    return parts[0], parts[1]


def _digits(rng: random.Random, count: int) -> str:
    return f"{rng.randrange(10**count):0{count}d}"


def _format(national: str, rng: random.Random) -> str:
    """national = 9 digits (no trunk 0): 01 23 45 67 89, +33 1 23 45 67 89, 0123456789, 01.23.45.67.89."""
    pairs = [national[1:3], national[3:5], national[5:7], national[7:9]]
    style = rng.random()
    if style < 0.5:
        return "0" + national[0] + " " + " ".join(pairs)
    if style < 0.8:
        return "+33 " + national[0] + " " + " ".join(pairs)
    if style < 0.9:
        return "0" + national
    return "0" + national[0] + "." + ".".join(pairs)


def _landline(rng: random.Random) -> str:
    first = rng.choice("12345")
    return _format(first + rng.choice(LANDLINE_SECOND[first]) + _digits(rng, 7), rng)


def _mobile(rng: random.Random) -> str:
    return _format(rng.choice(MOBILE_PREFIXES) + _digits(rng, 7), rng)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "-")).lower()


def _email(rng: random.Random, first: str, last: str) -> str:
    domain = rng.choice(DOMAINS)
    local = f"{_ascii(first)}.{_ascii(last)}"
    if rng.random() < 0.3:
        local += str(rng.randrange(1, 100))
    return f"{local[: 49 - len(domain)]}@{domain}"


def default_path(rows: int, offset: int, sep: str, encoding: str) -> Path:
    sep_name = {",": "comma", ";": "semicolon", "\t": "tab"}[sep]
    return OUT_DIR / f"contacts-{rows}-from-{offset}-{sep_name}-{encoding}.csv"


def generate(
    path: Path,
    rows: int,
    *,
    offset: int = 0,
    sep: str = ",",
    encoding: str = "utf-8",
    seed: int = SEED,
) -> dict:
    """Write the file and its <file>.json summary; return the summary."""
    stream = Stream(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    seen: set[str] = set()
    started = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
        writer.writerow(HEADER)
        for kind, values in stream.rows(offset, rows):
            counts[kind] = counts.get(kind, 0) + 1
            key = values[0].lower()
            if kind in ("valid", "bad_phone", "bad_mobile", "bad_email", "long_name"):
                # A bug here would make the benches' expected counts lie: fail loudly instead.
                if key in seen:
                    raise AssertionError(f"generator bug: name {values[0]!r} twice")
                seen.add(key)
            writer.writerow(values)
    tmp.replace(path)
    summary = {
        "rows": rows,
        "offset": offset,
        "seed": seed,
        "sep": sep,
        "encoding": encoding,
        "bytes": path.stat().st_size,
        "kinds": dict(sorted(counts.items())),
        "invalid": sum(n for k, n in counts.items() if k not in ("valid", "duplicate")),
        "duplicates": counts.get("duplicate", 0),
        # What an import into an empty table must create.
        "expected_created": counts.get("valid", 0),
        "seconds": round(time.perf_counter() - started, 1),
    }
    path.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    return summary


def ensure(
    rows: int, *, offset: int = 0, sep: str = ",", encoding: str = "utf-8"
) -> tuple[Path, dict, bool]:
    """The file for these parameters, generated unless an identical one exists; (path, summary, reused)."""
    path = default_path(rows, offset, sep, encoding)
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        summary = json.loads(meta.read_text())
        if summary.get("seed") == SEED and summary.get("bytes") == path.stat().st_size:
            return path, summary, True
    return path, generate(path, rows, offset=offset, sep=sep, encoding=encoding), False


def verify(path: Path, sep: str, encoding: str, seed: int, offset: int) -> int:
    """Check every row's kind independently of the product: phonenumbers and Django's validator.

    Returns the number of rows whose content disagrees with the kind the generator meant.
    """
    import phonenumbers
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    def phone_ok(raw: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(raw, "FR"))
        except phonenumbers.NumberParseException:
            return False

    def email_ok(raw: str) -> bool:
        try:
            validate_email(raw)
        except ValidationError:
            return False
        return True

    stream, wrong, seen = Stream(seed), 0, set()
    with open(path, encoding=encoding, newline="") as src:
        reader = csv.reader(src, delimiter=sep)
        next(reader)
        for i, values in enumerate(reader, start=offset):
            # The importer strips every cell before its checks.
            name, _address, phone, mobile, _other, email = (value.strip() for value in values)
            faults = set()
            if not name:
                faults.add("no_name")
            elif len(name) > 100:
                faults.add("long_name")
            elif name.lower() in seen:
                faults.add("duplicate")
            if phone and not phone_ok(phone):
                faults.add("bad_phone")
            if mobile and not phone_ok(mobile):
                faults.add("bad_mobile")
            if email and not email_ok(email):
                faults.add("bad_email")
            if not faults:
                seen.add(name.lower())
            meant = stream.kind(i)
            if meant == "duplicate" and stream.original_of(i, offset) is None:
                meant = "valid"
            if faults != ({meant} - {"valid"}):
                wrong += 1
                if wrong <= 10:
                    print(
                        f"row {i}: meant {meant}, found {sorted(faults) or 'valid'}: {values}",
                        file=sys.stderr,
                    )
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="first row index (rows overlap files with a smaller offset)",
    )
    parser.add_argument("--sep", default=",", choices=[",", ";", "\t"])
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "utf-8-sig", "cp1252"])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check every row with phonenumbers and Django's email validator (slow)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="default: var/bench/contacts-<rows>-from-<offset>-<sep>-<encoding>.csv",
    )
    args = parser.parse_args()
    path = args.out or default_path(args.rows, args.offset, args.sep, args.encoding)
    summary = generate(
        path, args.rows, offset=args.offset, sep=args.sep, encoding=args.encoding, seed=args.seed
    )
    print(json.dumps(summary, indent=2), file=sys.stderr)
    if args.verify:
        wrong = verify(path, args.sep, args.encoding, args.seed, args.offset)
        print(f"verify: {wrong} rows differ from what the generator meant", file=sys.stderr)
        if wrong:
            sys.exit(1)
    print(
        f"path={path} rows={summary['rows']} bytes={summary['bytes']} invalid={summary['invalid']} duplicates={summary['duplicates']} expected_created={summary['expected_created']} gen_s={summary['seconds']}"
    )


if __name__ == "__main__":
    main()
