//! Cross-crate and end-to-end tests for relent live in `tests/`; this library holds shared test support.
