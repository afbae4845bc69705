"""Starting runs: enrolment (who enters, when, the trigger index, waits and goals)."""
