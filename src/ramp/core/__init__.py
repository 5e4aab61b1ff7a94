"""Pure decisions: replica arithmetic, weights, steps, phases, hashing. No I/O, no asyncio."""
