"""Money: exact prices and costs in US dollars, as Decimal end to end."""
