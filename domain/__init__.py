"""The BTI domain: cases and their levels, the stafettholder and handovers, consent,
services, children, who may see what, and the access log. No HTTP, SQL, keys,
environment or clock: time comes in as an argument."""
