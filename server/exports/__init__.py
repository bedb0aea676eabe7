"""What leaves the server as files (CSV today; reports and xAPI later)."""
