"""The read side: events turned into what people read (the case log, the case-work
views and their queries) and into anonymised, protected statistics. It reads
events, never aggregates."""
