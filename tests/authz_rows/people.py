"""The person search (vigie/people/views.py): the DPO and the auditor only (Permission.PEOPLE_SEARCH).
The page shows the empty form (200); the search is posted (an empty query: 422). It names no record, so
there is no other partner's id to try: a partner never searches at all (403), nor do the committee, the
legal service, the administrator."""

from tests.authz_rows.helpers import only

ROWS = {
    ("people.search", "GET"): only(302, 200, ("dpo", "auditor")),
    ("people.search", "POST"): only(302, 422, ("dpo", "auditor")),
}
