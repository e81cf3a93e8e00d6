//! Reporting invalid input field by field.

use std::fmt;

/// One invalid field: which one (the API's camelCase name) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (e.g. `organization.name`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

/// Every problem found in one input, so a client can fix them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// No error yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error.
    #[must_use]
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.push(field, message);
        errors
    }

    /// Adds an error.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// Keeps `result`'s value, or records its error under `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    /// Moves every error of `other` under the prefix `prefix.`.
    pub fn extend_prefixed(&mut self, prefix: &str, other: ValidationErrors) {
        for e in other.0 {
            self.push(format!("{prefix}.{}", e.field), e.message);
        }
    }

    /// Whether no error was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors, in the order found.
    #[must_use]
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(())` when empty, `Err(self)` otherwise.
    ///
    /// # Errors
    /// `self`, when it holds at least one error.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_collect_in_order_and_prefix() {
        let mut inner = ValidationErrors::single("name", "too short");
        inner.push("email", "invalid");
        let mut outer = ValidationErrors::new();
        outer.extend_prefixed("organization", inner);
        assert_eq!(outer.errors()[0].field, "organization.name");
        assert_eq!(outer.to_string(), "organization.name: too short; organization.email: invalid");
        assert!(outer.into_result().is_err());
        assert!(ValidationErrors::new().into_result().is_ok());
    }
}
