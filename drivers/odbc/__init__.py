"""Legacy databases over ODBC: the driver, its pools and sockets, the SQL it writes, the catalog."""
