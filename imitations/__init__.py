"""Local imitations of the sites defwatch watches, served over real HTTP on 127.0.0.1."""
