//! Placeholder: filled in by the backoff work.
