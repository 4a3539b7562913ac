"""OrderActor: one actor per order, the order state machine (SPEC "Actors")."""
