"""What the procedure and the levels above ask for on paper or in their own layout: the village's public
notice (公示), the county's decisions for the national system, and the monthly tables."""
