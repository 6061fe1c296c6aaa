//! Placeholder: filled in by the table work.
