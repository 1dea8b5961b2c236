"""The rankings stage: movements between the "most read" lists, the ranking view and chart."""
