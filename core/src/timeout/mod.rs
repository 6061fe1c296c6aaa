//! Placeholder: filled in by the timeout work.
