//! The fezz runner (in progress).
