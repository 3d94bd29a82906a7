"""Legacy SOAP services (zeep): the driver, WSDL loading, and its HTTP transport."""
