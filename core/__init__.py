"""The base: configuration, text, dates, errors, logging, cron and the domain types.

Imports no other package of the project; every other package may import it."""
