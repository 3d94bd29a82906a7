"""What tests share besides fixtures: real backends, servers, receivers, test data."""
