"""Legacy files (CSV, fixed width, COBOL records): the driver, its formats, files and key index."""
