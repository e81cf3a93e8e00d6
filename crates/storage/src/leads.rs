//! Adapter of the leads context.
