//! Jitter seeds from OS entropy, so two processes (or two devices) never jitter alike.
//!
//! The core's [`relent::fresh_seed`], re-exported where relent-tokio users look for it.

pub use relent::fresh_seed;
