"""The obligations scorecard (compliance/scorecard/views.py, api.py): the DPO and the auditor read every
partner's; a partner reads its own only. The network page sends a partner to its own scorecard (302); the
network API gives it its own row only (200). `org_id` names ANOTHER partner: a partner gets 403."""

from tests.authz_rows.helpers import only

ROWS = {
    ("scorecard.index", "GET"): only(302, 200, ("dpo", "auditor")) | {"partner": 302},
    ("scorecard.show", "GET"): only(302, 200, ("dpo", "auditor")),
    ("api.scorecard", "GET"): only(401, 200, ("dpo", "partner", "auditor")),
    ("api.organisation_scorecard", "GET"): only(401, 200, ("dpo", "auditor")),
}
