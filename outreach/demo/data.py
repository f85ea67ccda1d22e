"""Fictitious but plausible demo data: communes, streets, names, phone ranges."""

from __future__ import annotations

from outreach.roster.models import (
    Sex,
)

# Real communes and postcodes: (commune, postcode, urban?).
COMMUNES: dict[str, list[tuple[str, str, bool]]] = {
    "18": [
        ("Bourges", "18000", True),
        ("Vierzon", "18100", True),
        ("Saint-Doulchard", "18230", True),
        ("Saint-Amand-Montrond", "18200", False),
        ("Mehun-sur-Yèvre", "18500", False),
        ("Aubigny-sur-Nère", "18700", False),
    ],
    "28": [
        ("Chartres", "28000", True),
        ("Dreux", "28100", True),
        ("Lucé", "28110", True),
        ("Vernouillet", "28500", True),
        ("Châteaudun", "28200", False),
        ("Nogent-le-Rotrou", "28400", False),
    ],
    "36": [
        ("Châteauroux", "36000", True),
        ("Déols", "36130", True),
        ("Issoudun", "36100", True),
        ("Argenton-sur-Creuse", "36200", False),
        ("Le Blanc", "36300", False),
        ("La Châtre", "36400", False),
    ],
    "37": [
        ("Tours", "37000", True),
        ("Tours", "37100", True),
        ("Joué-lès-Tours", "37300", True),
        ("Saint-Pierre-des-Corps", "37700", True),
        ("Amboise", "37400", False),
        ("Chinon", "37500", False),
        ("Loches", "37600", False),
    ],
    "41": [
        ("Blois", "41000", True),
        ("Vineuil", "41350", True),
        ("Vendôme", "41100", True),
        ("Romorantin-Lanthenay", "41200", False),
        ("Mer", "41500", False),
        ("Montoire-sur-le-Loir", "41800", False),
    ],
    "45": [
        ("Orléans", "45000", True),
        ("Fleury-les-Aubrais", "45400", True),
        ("Saint-Jean-de-Braye", "45800", True),
        ("Montargis", "45200", True),
        ("Gien", "45500", False),
        ("Pithiviers", "45300", False),
    ],
}
STREETS = [
    "rue des Tilleuls",
    "avenue de la République",
    "rue Jean Jaurès",
    "rue Victor Hugo",
    "allée des Acacias",
    "rue Pasteur",
    "boulevard Jean Moulin",
    "rue des Écoles",
    "place du Marché",
    "rue de la Paix",
    "impasse des Lilas",
    "rue du Général de Gaulle",
    "chemin des Vignes",
    "rue des Peupliers",
    "avenue du Maréchal Leclerc",
    "rue Anatole France",
]
RESIDENCES = [
    "Les Tilleuls",
    "Les Acacias",
    "Le Clos Fleuri",
    "Les Jardins de la Loire",
    "Le Parc",
    "Les Coteaux",
    "La Roseraie",
    "Les Marronniers",
]
FEMALE_NAMES = (
    "Jeanne Marie Monique Jacqueline Simone Yvette Denise Colette Odette Paulette Ginette "
    "Françoise Christiane Suzanne Madeleine Micheline Josette Nicole Danielle Michèle Annie "
    "Geneviève Huguette Lucienne Renée Andrée Gisèle Marcelle Janine Bernadette Yvonne "
    "Germaine Éliane Claudine Arlette Raymonde"
).split()
MALE_NAMES = (
    "Jean Michel André Pierre Bernard Jacques René Roger Marcel Claude Gérard Robert Daniel "
    "Guy Alain Louis Henri Maurice Raymond Georges Lucien Gilbert Paul Roland Francis Serge "
    "Yves Joseph Christian Jean-Pierre Jean-Claude Albert Fernand Émile"
).split()
SURNAMES = (
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Faure Mercier Blanc Guérin Boyer Garnier Chevalier Legrand Gauthier "
    "Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Masson Marchand Duval Denis "
    "Dumont Lemaire Noël Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet "
    "Gaillard Barbier Arnaud Renard Roy Leroux Colin Caron Picard Aubert Lemoine Renaud "
    "Dumas Lacroix Bourgeois Benoît Leclerc Guillaume Hubert Berger Moulin Deschamps Huet "
    "Boucher Fleury Royer Jacquet Poirier Aubry Guyot Carré Charpentier Ménard Maillard "
    "Baron Bailly Hervé Besson Langlois Pelletier Lebrun Tessier Chauvin Pichon Lejeune"
).split()
# Relation, sex of the relative (for the first name), whether they share the surname.
RELATIONS = [
    ("fille", Sex.female, False),
    ("fils", Sex.male, True),
    ("voisine", Sex.female, False),
    ("voisin", Sex.male, False),
    ("nièce", Sex.female, False),
    ("neveu", Sex.male, False),
    ("petite-fille", Sex.female, False),
    ("sœur", Sex.female, False),
]
RELATIVE_FEMALE = "Sophie Nathalie Isabelle Sandrine Valérie Céline Stéphanie Aurélie Julie".split()
RELATIVE_MALE = "Philippe Laurent Stéphane Olivier Christophe Frédéric Nicolas Sébastien".split()
CONSENT_SOURCES = [
    "questionnaire papier",
    "appel de la conseillère sociale",
    "visite à domicile",
    "enquête annuelle",
]
# Fiction ranges for landlines (8 digits after +33, the last 4 drawn); mobile blocks (the
# last 5 drawn) - see the module docstring.
LANDLINE_LOCAL = "+3326191"
LANDLINE_ELSEWHERE = ["+3319900", "+3335301", "+3346571", "+3353649", "+3326191"]
MOBILE_BLOCKS = ["+336000", "+337800"]


DEPARTEMENT_NAMES = {
    "18": "du Cher",
    "28": "d'Eure-et-Loir",
    "36": "de l'Indre",
    "37": "d'Indre-et-Loire",
    "41": "du Loir-et-Cher",
    "45": "du Loiret",
}
