"""OneRoster 1.2 CSV bulk import, pure: the bundle (zip or files) read within limits, each file's
rows checked against the specification, the references between files resolved and the rows
mapped onto the project's schools, sites, users, courses and enrolments (docs/roster.md)."""
