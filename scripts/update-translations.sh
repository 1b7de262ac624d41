#!/usr/bin/env bash
# Re-extract the translatable strings from the sources listed in babel.cfg into
# vigie/translations/messages.pot, then merge them into the French catalog
# (vigie/translations/fr/LC_MESSAGES/messages.po). New msgids arrive with an empty
# msgstr; translate them, then run `make translations` (or `make test`).
# Fuzzy matching is off on purpose: a guessed translation is worse than none, and
# tests/test_translations.py fails on any empty or fuzzy entry.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ -x .venv/bin/pybabel ]]; then
    PYBABEL=.venv/bin/pybabel
elif command -v pybabel >/dev/null 2>&1; then
    PYBABEL=pybabel
else
    echo "pybabel not found: run 'make install' first (or install Babel)" >&2
    exit 1
fi

POT=vigie/translations/messages.pot
CATALOG_DIR=vigie/translations

# Default keywords (gettext, ngettext, _, ...) stay on; _l / lazy_gettext are added.
# Comments starting with "Translators:" above a string are copied into the catalog.
"$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext -c "Translators:" \
    --project=Vigie --version=0.1.0 \
    -o "$POT" .

for locale in fr; do
    "$PYBABEL" -q update -i "$POT" -d "$CATALOG_DIR" -l "$locale" \
        --no-fuzzy-matching --ignore-obsolete
done

echo "Catalog updated: translate the empty msgstr in $CATALOG_DIR/fr/LC_MESSAGES/messages.po," \
     "then run 'make translations'."
