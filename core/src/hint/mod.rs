//! Placeholder: filled in by the hint work.
