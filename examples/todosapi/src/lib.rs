//! The todos example (in progress).
