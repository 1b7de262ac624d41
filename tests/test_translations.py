"""The translation catalogs follow the sources: every string marked for translation in the code and
templates (babel.cfg) has a real, non-fuzzy translation, with the same placeholders, and the catalogs
compile. No app fixture: Babel's own extraction and compilation, in memory.

When a test here fails after a change of wording, run ``scripts/update-translations.sh``, translate the
new (empty) entries of vigie/translations/<locale>/LC_MESSAGES/messages.po, then ``make translations``.
"""

from __future__ import annotations

import gettext
import io
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
SCRIPT = ROOT / "scripts" / "update-translations.sh"
TRANSLATIONS = ROOT / "vigie" / "translations"
FIX = "run scripts/update-translations.sh, then translate the empty entries of {po}"

# The keywords added to Babel's defaults (gettext, ngettext, _...): same as the script's `-k` options.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")

# Translations that may equal their English msgid although they have several words (names, or a
# language named in its own language). Single words (Action, Contacts, Pages...) and units
# (`%(minutes)d min`) are never flagged.
SAME_IN_BOTH: frozenset[str] = frozenset({"Vigie", "SIREN", "English", "Français", "Signature (HMAC-SHA256)"})

# printf-style placeholders as Python's % operator reads them: %(name)s, %(n)d, %s, %.2f, %%...
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")

LOCALES = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def words(text: str) -> list[str]:
    """The words of a message, placeholders and one-letter abbreviations (`%(n)d h`) left out."""
    return re.findall(r"[^\W\d_]{2,}", PLACEHOLDER.sub(" ", text))


def msgid_text(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def forms(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@cache
def source_messages() -> dict[str, Message]:
    """Every translatable string of the sources, extracted as `pybabel extract -F babel.cfg` would."""
    with BABEL_CFG.open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, filename=str(BABEL_CFG))
    keywords = {**DEFAULT_KEYWORDS, **dict.fromkeys(EXTRA_KEYWORDS)}
    catalog = Catalog(project="Vigie")
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return {msgid_text(m): m for m in catalog if m.id}


@cache
def catalog(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


def po_path(locale: str) -> str:
    return f"vigie/translations/{locale}/LC_MESSAGES/messages.po"


def where(message: Message) -> str:
    return ", ".join(f"{f}:{n}" for f, n in message.locations[:3]) or "?"


def test_there_is_a_french_catalog() -> None:
    assert "fr" in LOCALES


def test_the_script_extracts_with_the_same_keywords() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    assert SCRIPT.stat().st_mode & 0o111, "scripts/update-translations.sh must be executable"
    assert sorted(re.findall(r"-k\s+(\S+)", script)) == sorted(EXTRA_KEYWORDS)
    assert "babel.cfg" in script


def test_the_sources_have_translatable_strings() -> None:
    """A guard for the tests below: an extraction that finds nothing would make them pass vacuously."""
    messages = source_messages()
    assert len(messages) > 50
    # One of each kind of source: a template, gettext in Python, lazy_gettext (_l) in a form.
    assert "Skip to content" in messages  # templates/base.html
    assert "Wrong e-mail address or password." in messages  # vigie/auth/views.py, _()
    assert "E-mail address" in messages  # vigie/auth/forms.py, _l()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_string_is_translated(locale: str) -> None:
    translations = catalog(locale)
    missing = []
    for key, source in source_messages().items():
        entry = translations.get(source.id, context=source.context)
        if entry is None:
            missing.append(f"{key!r} ({where(source)}): not in the catalog")
        elif entry.fuzzy:
            missing.append(f"{key!r} ({where(source)}): fuzzy")
        elif not all(s.strip() for s in forms(entry.string)):
            missing.append(f"{key!r} ({where(source)}): empty translation")
    assert not missing, (
        f"{len(missing)} untranslated message(s) in {po_path(locale)}; {FIX.format(po=po_path(locale))}:\n"
        + "\n".join(missing)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalog_has_no_stale_or_fuzzy_entry(locale: str) -> None:
    sources = source_messages()
    stale = [msgid_text(m) for m in catalog(locale) if m.id and msgid_text(m) not in sources]
    fuzzy = [msgid_text(m) for m in catalog(locale) if m.id and m.fuzzy]
    assert not stale, f"messages no longer in the sources; {FIX.format(po=po_path(locale))}: {stale}"
    assert not fuzzy, f"fuzzy entries in {po_path(locale)} (check, then remove the flag): {fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders(locale: str) -> None:
    wrong = []
    for message in catalog(locale):
        if not message.id:
            continue
        originals = forms(message.id)
        for translated in forms(message.string):
            if not translated:
                continue
            if len(originals) == 1:
                # Same placeholders, as many times each: %(name)s, %(n)d, %s, and %% (Jinja always
                # applies % to a translated template string, so a literal % must stay %% there).
                ok = Counter(PLACEHOLDER.findall(translated)) == Counter(PLACEHOLDER.findall(originals[0]))
            else:
                # Plural forms may drop the count (`un seul élément`), but invent nothing.
                allowed = {p for original in originals for p in PLACEHOLDER.findall(original)}
                ok = set(PLACEHOLDER.findall(translated)) <= allowed
            if not ok:
                wrong.append(f"{msgid_text(message)!r} -> {translated!r}")
    assert not wrong, f"placeholders differ in {po_path(locale)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES)
def test_babel_checkers_find_no_error(locale: str) -> None:
    """Babel's own checks (python-format compatibility, number of plural forms)."""
    problems = [
        f"{msgid_text(message)!r}: {'; '.join(str(e) for e in errors)}"
        for message, errors in catalog(locale).check()
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_english_left_in_the_translations(locale: str) -> None:
    """A translation equal to an English sentence is almost always a forgotten one."""
    english = {forms_id for m in catalog(locale) if m.id for forms_id in forms(m.id)}
    suspicious = [
        f"{msgid_text(m)!r} -> {s!r}"
        for m in catalog(locale)
        if m.id
        for s in forms(m.string)
        if s in english and s not in SAME_IN_BOTH and len(words(s)) >= 2
    ]
    assert not suspicious, (
        f"translations still in English in {po_path(locale)} (if one is right as is, add it to "
        f"SAME_IN_BOTH in tests/test_translations.py):\n" + "\n".join(suspicious)
    )


def compiled(locale: str) -> gettext.GNUTranslations:
    """The catalog as `pybabel compile` would write it (fuzzy entries left out), read back by gettext."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog(locale), use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalog_compiles(locale: str) -> None:
    translations = compiled(locale)
    assert translations.info().get("language") == locale
    for message in catalog(locale):
        if not message.id or not message.string or message.fuzzy or not isinstance(message.id, str):
            continue  # untranslated or fuzzy entries are left out of a .mo (reported by the tests above)
        if message.context:
            assert translations.pgettext(message.context, message.id) == message.string
        else:
            assert translations.gettext(message.id) == message.string


def test_french_wording_the_other_tests_rely_on() -> None:
    fr = compiled("fr")
    assert fr.gettext("Wrong e-mail address or password.") == "Adresse e-mail ou mot de passe incorrect."
    assert fr.gettext("Too many attempts: wait a few minutes, then try again.").startswith(
        "Trop de tentatives"
    )
    assert "neuf chiffres" in fr.gettext("A SIREN has exactly nine digits.")
    assert fr.gettext("Sign in") == "Se connecter"
    assert fr.gettext("Sign out") == "Se déconnecter"
    assert fr.gettext("Password") == "Mot de passe"
    assert fr.gettext("Audit trail") == "Journal d'audit"
