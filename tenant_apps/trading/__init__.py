"""Trading accounts on the brokerage's trading servers: adapters to the platforms (MT5 Web API) and, later,
the accounts, sync workers and flows built on them."""
