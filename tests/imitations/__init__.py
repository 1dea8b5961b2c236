"""Tests of the imitation sites (the sites themselves are the imitations package)."""
