//! Request text with a documented form: one type per pattern of the API
//! document, whose schema carries the pattern and whose check matches a
//! regular expression compiled once.
//!
//! poem-openapi's `#[oai(validator(pattern = …))]` compiles its regular
//! expression again on every check (`Regex::new` in `validation/pattern.rs`
//! of poem-openapi 5.1), which cost a submission about as much CPU as the rest
//! of its handling. Here a field is typed by its form and checked by
//! [`Conforms`]:
//!
//! ```ignore
//! /// The contact email address.
//! #[oai(validator(max_length = 254, custom = "crate::api::text::Conforms"))]
//! pub email: Email,
//! ```
//!
//! The type puts `pattern` into the field's schema; the lengths stay
//! poem-openapi validators (they compile nothing); [`Conforms`] matches the
//! pattern and, failing, reports the field by name like any other validator.
//! The text is read strictly: a JSON number or boolean is not text.

use std::{borrow::Cow, fmt, marker::PhantomData, ops::Deref, sync::OnceLock};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
    validation::Validator,
};
use regex::Regex;
use serde_json::Value;

/// A form of text: the pattern the API document states for it.
pub trait TextForm: Send + Sync + 'static {
    /// The pattern, as published (ECMA-262 compatible).
    const PATTERN: &'static str;

    /// The pattern, compiled once.
    fn regex() -> &'static Regex;
}

/// Text of the form `F`, as it arrived (the check is [`Conforms`]).
pub struct Text<F: TextForm>(String, PhantomData<F>);

impl<F: TextForm> Text<F> {
    /// The text.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the text has the documented form.
    #[must_use]
    pub fn conforms(&self) -> bool {
        F::regex().is_match(&self.0)
    }
}

impl<F: TextForm> Clone for Text<F> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<F: TextForm> fmt::Debug for Text<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<F: TextForm> PartialEq for Text<F> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<F: TextForm> Deref for Text<F> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<F: TextForm> AsRef<str> for Text<F> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<F: TextForm> From<&str> for Text<F> {
    fn from(text: &str) -> Self {
        Self(text.to_owned(), PhantomData)
    }
}

impl<F: TextForm> From<String> for Text<F> {
    fn from(text: String) -> Self {
        Self(text, PhantomData)
    }
}

impl<F: TextForm> From<Text<F>> for String {
    fn from(text: Text<F>) -> Self {
        text.0
    }
}

impl<F: TextForm> serde::Serialize for Text<F> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Read as it arrived, like [`ParseFromJSON`]; the form is checked by [`Conforms`]
/// (URL-encoded bodies are read again through the JSON parser, which checks it).
impl<'de, F: TextForm> serde::Deserialize<'de> for Text<F> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

impl<F: TextForm> Type for Text<F> {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("string");
        schema.pattern = Some(F::PATTERN.to_owned());
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<F: TextForm> ParseFromJSON for Text<F> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Ok(Self(text, PhantomData)),
            Some(other) => Err(ParseError::custom(format!("expected a string, found {other}"))),
            None => Err(ParseError::custom("a required field is missing")),
        }
    }
}

impl<F: TextForm> ParseFromParameter for Text<F> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_owned(), PhantomData))
    }
}

impl<F: TextForm> ToJSON for Text<F> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// The validator that matches a [`Text`] against its form:
/// `#[oai(validator(custom = "crate::api::text::Conforms"))]`. Its failure
/// reads `pattern(…)`, as poem-openapi's own pattern validator's does.
pub struct Conforms;

impl<F: TextForm> Validator<Text<F>> for Conforms {
    fn check(&self, value: &Text<F>) -> bool {
        value.conforms()
    }
}

impl fmt::Display for Conforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pattern(the documented form)")
    }
}

macro_rules! text_forms {
    ($($(#[$meta:meta])* $form:ident / $alias:ident = $pattern:expr;)*) => {$(
        $(#[$meta])*
        pub enum $form {}

        impl TextForm for $form {
            const PATTERN: &'static str = $pattern;

            fn regex() -> &'static Regex {
                static REGEX: OnceLock<Regex> = OnceLock::new();
                REGEX.get_or_init(|| Regex::new(Self::PATTERN).expect("the documented pattern compiles"))
            }
        }

        $(#[$meta])*
        pub type $alias = Text<$form>;
    )*};
}

text_forms! {
    /// An email address: a dot-atom local part, `@`, and a domain of LDH labels.
    EmailForm / Email = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";
    /// A slug: `[a-z0-9-]`, not starting or ending with `-`.
    SlugForm / Slug = "^[a-z0-9][a-z0-9-]*[a-z0-9]$";
    /// A username: 3–32 characters of `[A-Za-z0-9_.-]`.
    UsernameForm / Username = "^[A-Za-z0-9_.-]{3,32}$";
    /// One line of text, not blank, without control characters.
    LineForm / Line = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";
    /// Text that is not blank; tabs and line breaks allowed, other control characters not.
    ProseForm / Prose = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";
    /// Text that may be blank; tabs and line breaks allowed, other control characters not.
    FreeTextForm / FreeText = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";
    /// Text with at least one character that is not white space.
    NonBlankForm / NonBlank = r"^\s*\S";
    /// A phone number: 3–32 of digits, spaces and `+().-`.
    PhoneForm / Phone = r"^[0-9 +().-]{3,32}$";
    /// A web origin: `http(s)://host[:port]`.
    OriginForm / Origin = r"^[Hh][Tt][Tt][Pp]([Ss])?://[A-Za-z0-9.\[\]-][A-Za-z0-9.:\[\]-]{0,252}$";
    /// An absolute `http` or `https` URL without white space or control characters.
    HttpUrlForm / HttpUrl = r"^https?://[^\s/?#\u0000-\u001f\u007f-\u009f][^\s\u0000-\u001f\u007f-\u009f]*$";
    /// A keyset position of a list: 32 base64url characters.
    CursorForm / Cursor = "^[A-Za-z0-9_-]{32}$";
    /// An `Idempotency-Key`: 1–255 visible ASCII characters.
    IdempotencyKeyForm / IdempotencyKey = "^[!-~]{1,255}$";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_compiles_and_matches_what_it_documents() {
        assert!(Email::from("ada@example.com").conforms());
        assert!(!Email::from(" ada@example.com").conforms());
        assert!(Slug::from("acme-inc").conforms());
        assert!(!Slug::from("-acme").conforms());
        assert!(Username::from("ada.l").conforms());
        assert!(Line::from("Ada Lovelace").conforms());
        assert!(!Line::from("Ada\nLovelace").conforms());
        assert!(!Line::from("   ").conforms());
        assert!(Prose::from("Hello,\n\tworld").conforms());
        assert!(!Prose::from("\u{7}bell").conforms());
        assert!(FreeText::from("").conforms());
        assert!(NonBlank::from(" key").conforms());
        assert!(!NonBlank::from("  ").conforms());
        assert!(Phone::from("+1 (555) 010-0199").conforms());
        assert!(Origin::from("https://example.com:8443").conforms());
        assert!(!Origin::from("https://example.com/path").conforms());
        assert!(HttpUrl::from("https://example.com/thanks?x=1").conforms());
        assert!(Cursor::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").conforms());
        assert!(!Cursor::from("short").conforms());
        assert!(IdempotencyKey::from("order-42").conforms());
        assert!(!IdempotencyKey::from("with space").conforms());
    }

    #[test]
    fn text_is_read_strictly_and_the_schema_states_the_pattern() {
        assert!(Email::parse_from_json(Some(Value::from(42))).is_err());
        assert!(Email::parse_from_json(None).is_err());
        let MetaSchemaRef::Inline(schema) = Email::schema_ref() else { panic!("inline") };
        assert_eq!(schema.pattern.as_deref(), Some(EmailForm::PATTERN));
        assert!(!Validator::check(&Conforms, &Email::from("nope")));
        assert!(Conforms.to_string().starts_with("pattern("));
    }
}
