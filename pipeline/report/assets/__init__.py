"""Templates, styles and the small script of the HTML report (package data, inlined into every page)."""
