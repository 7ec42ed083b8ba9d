"""journeybot's core: cases, journeys, policy and compose. No platform imports."""
