//! Property test: every macro, fed random, mutated and truncated token
//! streams, returns tokens (an expansion or a compile error) and never
//! panics.
