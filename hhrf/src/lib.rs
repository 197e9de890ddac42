//! hhrf (in progress).
