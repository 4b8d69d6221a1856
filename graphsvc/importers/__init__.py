"""How data gets in. Every input here is untrusted: it is checked, parsed completely,
and only then written to the store in one transaction."""
