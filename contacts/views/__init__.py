"""HTML pages of contacts: the contact list and profiles, hosted forms, CSV imports."""
