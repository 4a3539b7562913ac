"""TicketActor: a customer request as a per-ticket state machine with SLA reminders."""
