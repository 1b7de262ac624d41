"""Administration pages (role `admin`): user accounts, their invitations, second factors and API tokens,
and the sign-in log. Organisations are administered from vigie.orgs."""
