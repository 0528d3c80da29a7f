//! A route's query parameters as one type that both reads them and documents them.
//!
//! A handler takes [`Params<T>`], where `T` derives serde's `Deserialize` (what the handler reads) and utoipa's
//! `IntoParams` (what the OpenAPI document says), and the route is registered with
//! [`ApiRoutes::query_params::<T>`](crate::ApiRoutes::query_params). The document, the check for unknown
//! parameters and the parsing therefore come from the same fields. Values are trimmed and blank ones are taken as
//! missing, like the original's; a value of the wrong shape is `400` naming the parameter.
//!
//! The value types here carry their own rule and schema: [`Whole`] (bounds), [`Text`] (length), [`Day`] (a
//! calendar date), [`OneOf`] (a closed list of words) and [`Listed`] (some of them, with commas). A field of one of
//! them is marked `#[param(inline)]`, so the document spells the rule out where the parameter is.

use std::fmt;
use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

use crate::Problem;

/// The request's query parameters, read into `T`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        read(parts.uri.query().unwrap_or_default()).map(Params)
    }
}

/// Reads `query` (`a=1&b=x`) into `T`: values trimmed, blank ones dropped, a wrong one `400` naming it.
pub fn read<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let given = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name, value.trim().to_owned()))
        .filter(|(_, value)| !value.is_empty());
    let kept = form_urlencoded::Serializer::new(String::new()).extend_pairs(given).finish();
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| match error.path().to_string() {
        // Not about one value: a parameter given twice.
        root if root == "." => Problem::malformed(format!("The query string has a {}.", error.into_inner())),
        name => Problem::invalid_param(&name, error.into_inner().to_string()),
    })
}

/// The parameter's text, refused with `message` unless `parse` takes it.
fn parsed<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Option<T>,
    message: impl FnOnce() -> String,
) -> Result<T, D::Error> {
    let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
    parse(&text).ok_or_else(|| D::Error::custom(message()))
}

/// A whole number from `MIN` to `MAX`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Whole<const MIN: i64, const MAX: i64>(pub i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Whole<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let message = || match MAX {
            crate::MAX_WHOLE => format!("must be a whole number from {MIN} to 2^53 - 1"),
            _ => format!("must be a whole number from {MIN} to {MAX}"),
        };
        let take = |text: &str| text.parse().ok().filter(|n| (MIN..=MAX).contains(n)).map(Whole);
        parsed(deserializer, take, message)
    }
}

impl<const MIN: i64, const MAX: i64> PartialSchema for Whole<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        whole(MIN, MAX).into()
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Whole<MIN, MAX> {}

/// A whole number from `minimum` to `maximum`, both included.
pub(crate) fn whole(minimum: i64, maximum: i64) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(minimum as f64)).maximum(Some(maximum as f64))
}

/// Text of at most `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text<const MAX: usize>(pub String);

impl<'de, const MAX: usize> Deserialize<'de> for Text<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let take = |text: &str| (text.chars().count() <= MAX).then(|| Text(text.to_owned()));
        parsed(deserializer, take, || format!("is at most {MAX} characters"))
    }
}

impl<const MAX: usize> PartialSchema for Text<MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX)).into()
    }
}

impl<const MAX: usize> ToSchema for Text<MAX> {}

/// A page of a list, from 1 (`page`).
pub type PageNumber = Whole<1, { crate::MAX_PAGE }>;

/// How many items a page holds (`limit`); a list takes more than [`crate::MAX_PAGE_SIZE`] as that many.
pub type Limit = Whole<1, { crate::MAX_WHOLE }>;

/// What a search reads: at most [`crate::SEARCH_MAX_CHARS`] characters.
pub type Search = Text<{ crate::SEARCH_MAX_CHARS }>;

/// A calendar date, `2026-11-30`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub time::Date);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let take = |text: &str| time::Date::parse(text, format).ok().map(Day);
        parsed(deserializer, take, || "must be a date (2026-11-30)".to_owned())
    }
}

impl PartialSchema for Day {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))).into()
    }
}

impl ToSchema for Day {}

/// A closed list of words a parameter takes one of (a status, a sort order), named once.
pub trait Words: Send + Sync + 'static {
    const WORDS: &'static [&'static str];
}

/// One of `W`'s words, as given.
pub struct OneOf<W>(pub &'static str, PhantomData<W>);

impl<W: Words> OneOf<W> {
    /// `word` if it is one of `W`'s.
    pub fn new(word: &str) -> Option<Self> {
        W::WORDS.iter().find(|known| **known == word).map(|known| OneOf(known, PhantomData))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl<W> Clone for OneOf<W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<W> Copy for OneOf<W> {}

impl<W> PartialEq for OneOf<W> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<W> fmt::Debug for OneOf<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'de, W: Words> Deserialize<'de> for OneOf<W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        OneOf::new(&text).ok_or_else(|| D::Error::custom(not_one_of::<W>(&text)))
    }
}

impl<W: Words> PartialSchema for OneOf<W> {
    fn schema() -> RefOr<Schema> {
        crate::fields::one_of(W::WORDS).into()
    }
}

impl<W: Words> ToSchema for OneOf<W> {}

/// Some of `W`'s words, listed with commas (`paid,fulfilled`); at least one.
pub struct Listed<W>(pub Vec<&'static str>, PhantomData<W>);

impl<W> Clone for Listed<W> {
    fn clone(&self) -> Self {
        Listed(self.0.clone(), PhantomData)
    }
}

impl<W> PartialEq for Listed<W> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<W> fmt::Debug for Listed<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'de, W: Words> Deserialize<'de> for Listed<W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        let mut words = Vec::new();
        for word in text.split(',').map(str::trim).filter(|word| !word.is_empty()) {
            let known = OneOf::<W>::new(word).ok_or_else(|| D::Error::custom(not_one_of::<W>(word)))?;
            words.push(known.0);
        }
        if words.is_empty() {
            return Err(D::Error::custom(format!("must list some of {}, with commas", W::WORDS.join(", "))));
        }
        Ok(Listed(words, PhantomData))
    }
}

/// What a word that is not one of `W`'s is told.
fn not_one_of<W: Words>(word: &str) -> String {
    format!("takes {word:?}, which is not one of {}", W::WORDS.join(", "))
}

impl<W: Words> PartialSchema for Listed<W> {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new().items(crate::fields::one_of(W::WORDS)).min_items(Some(1)).into()
    }
}

impl<W: Words> ToSchema for Listed<W> {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Colours;

    impl Words for Colours {
        const WORDS: &'static [&'static str] = &["red", "green"];
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        page: Option<Whole<1, 10>>,
        colour: Option<OneOf<Colours>>,
        colours: Option<Listed<Colours>>,
        from: Option<Day>,
        search: Option<Text<3>>,
        id: Option<uuid::Uuid>,
    }

    fn refused(query: &str) -> String {
        let problem = read::<Sample>(query).expect_err(query);
        problem.errors.first().map(|error| error.field.clone()).unwrap_or_default()
    }

    #[test]
    fn values_are_trimmed_and_blank_ones_are_missing() {
        let sample: Sample = read("page=%203%20&colour=&search=%20%20&colours=red,%20green").expect("reads");
        assert_eq!(sample.page, Some(Whole(3)));
        assert_eq!(sample.colour, None);
        assert_eq!(sample.search, None);
        assert_eq!(sample.colours.map(|listed| listed.0), Some(vec!["red", "green"]));
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_refused_by_its_name() {
        assert_eq!(refused("page=0"), "page");
        assert_eq!(refused("page=11"), "page");
        assert_eq!(refused("page=1.5"), "page");
        assert_eq!(refused("colour=blue"), "colour");
        assert_eq!(refused("colours=red,blue"), "colours");
        assert_eq!(refused("colours=,"), "colours");
        let unknown = read::<Sample>("colours=red,blue").expect_err("an unknown word");
        assert!(unknown.detail.contains("\"blue\""), "names the word it does not know: {}", unknown.detail);
        assert_eq!(refused("from=2026-13-01"), "from");
        assert_eq!(refused("search=four"), "search");
        assert_eq!(refused("id=x"), "id");
        let twice = read::<Sample>("page=1&page=2").expect_err("a parameter given twice");
        assert_eq!(twice.detail, "The query string has a duplicate field `page`.");
    }

    #[test]
    fn every_value_type_documents_its_rule() {
        let page = serde_json::to_value(Whole::<1, 10>::schema()).expect("a schema");
        assert_eq!((page["minimum"].as_f64(), page["maximum"].as_f64()), (Some(1.0), Some(10.0)));
        let colours = serde_json::to_value(Listed::<Colours>::schema()).expect("a schema");
        assert_eq!(colours["items"]["enum"], serde_json::json!(["red", "green"]));
        let search = serde_json::to_value(Text::<3>::schema()).expect("a schema");
        assert_eq!(search["maxLength"], 3);
    }
}

#[cfg(test)]
mod properties;
