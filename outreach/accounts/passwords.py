"""What a password must be: long, and not one that attackers try first.

Every place that sets a password (``create_user``, ``set_password``, hence the CLI, the
demo and any form) asks ``password_problem`` and shows its French answer as it is.

The length rule does most of the work: 12 characters or more. The list stops the long
passwords that are guessed all the same: the 20,000 commonest passwords that Django ships
(``common-passwords.txt.gz``, from Royce Williams' compilation of leaked passwords, BSD
licence, copied unchanged from Django 5.2) and a few hundred French ones
(``common-passwords-fr.txt``). A guesser also tries the common words with digits or
punctuation around them and with spaces removed ("Marseille2024!", "mot de passe 123"), and
repetitions ("azertyazerty"): so are they looked up.
"""

from __future__ import annotations

import gzip
import string
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
# The login form accepts up to 200 characters: a longer one could never be typed in.
MAX_LENGTH = 200
# Fewer distinct characters than this is a pattern ("aaaaaaaaaaaa", "121212121212").
MIN_DISTINCT = 5
HERE = Path(__file__).resolve().parent
LISTS = (HERE / "common-passwords.txt.gz", HERE / "common-passwords-fr.txt")
_AROUND = string.digits + string.punctuation + string.whitespace


@cache
def common_passwords() -> frozenset[str]:
    """The lowercased common passwords, read once per process."""
    words: set[str] = set()
    for path in LISTS:
        text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for line in text.decode("utf-8").splitlines():
            word = line.strip()
            if word and not word.startswith("#"):
                words.add(word.lower())
    return frozenset(words)


def _unit(text: str) -> str:
    """The shortest string that ``text`` repeats ("azertyazerty" -> "azerty")."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _variants(password: str) -> set[str]:
    """The forms a guesser would derive from a common word, as they are looked up."""
    lowered = password.lower()
    compact = "".join(lowered.split())
    variants = {lowered, compact, lowered.strip(_AROUND), compact.strip(_AROUND)}
    variants |= {_unit(v) for v in list(variants)}
    return {v for v in variants if v}


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` is refused, in French, or None when it is acceptable.

    ``email`` is the account's address: a password built on it is refused too."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe doit compter au plus {MAX_LENGTH} caractères."
    if password.strip(_AROUND) == "" or password.strip().isdigit():
        return "Le mot de passe ne peut pas être fait seulement de chiffres ou de signes."
    if len(set(password.lower())) < MIN_DISTINCT:
        return "Le mot de passe répète trop peu de caractères différents."
    common = common_passwords()
    if any(v in common for v in _variants(password)):
        return (
            "Ce mot de passe fait partie des plus courants, ceux qu'on essaie en premier : "
            "choisissez-en un autre, par exemple une phrase de plusieurs mots."
        )
    if email:
        local = email.strip().lower().split("@", 1)[0]
        if len(local) >= 4 and local in password.lower():
            return "Le mot de passe ne doit pas reprendre l'adresse e-mail."
    return None
