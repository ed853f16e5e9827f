"""Judging what ran: leaderboard metrics, problem features, the method recommender, a PEtab collection checked
on every engine, and fitted values in natural units."""
