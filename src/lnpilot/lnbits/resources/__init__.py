"""Resources of the LNbits client, one module per area of the API."""
