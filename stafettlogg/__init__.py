"""stafettlogg: a digital stafettlogg for BTI. The shell around the domain:
settings, the application and its unit of work, persistence, the view model, the
web layer, the command line and the demo data."""
