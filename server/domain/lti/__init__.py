"""LTI 1.3 rules, pure: what a launch's claims must hold, LMS roles to ours, a lesson's score,
the Deep Linking response (docs/lms.md). Signatures and HTTP are the adapter's
(``server/services/lti/``)."""
