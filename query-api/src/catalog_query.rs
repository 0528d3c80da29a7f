//! The catalogue's query parameters (API.md, DOMAIN.md 2.6.1), parsed and turned into SQL conditions. Blank
//! parameters are dropped like the original's; a value of the wrong shape is a 400 naming the parameter.

use api_contract::query::{OneOf, Search, Whole, Words};
use serde::Deserialize;
use serde::de::{Deserializer, Error as _};
use tokio_postgres::types::ToSql;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::money::Display;

/// The catalogue's orders (`sort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Sort {
    /// With a search: title prefix, then title match, then closeness; newest first without a search.
    Relevance,
    Popular,
    Rating,
    Newest,
    Price,
}

/// What a catalogue's list reads: its filters, its order and the caller's country.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CatalogQuery {
    /// Text in the title (in the whole catalogue, or the instructor's name).
    #[param(inline)]
    pub search: Option<Search>,
    /// A category of `GET /api/v1/categories` (R14).
    #[param(inline)]
    pub category: Option<Category>,
    /// A subcategory of `GET /api/v1/categories`; one of another category than the one given finds nothing.
    #[param(inline)]
    pub subcategory: Option<Subcategory>,
    /// The course's level.
    #[param(inline)]
    pub level: Option<Level>,
    /// The lowest average rating, 0 to 5.
    #[param(inline)]
    pub min_rating: Option<Rating>,
    /// The lowest price in the caller's currency (`19.99`), compared with the undiscounted price.
    #[param(inline)]
    pub price_min: Option<Amount>,
    /// The highest price in the caller's currency, compared with the undiscounted price.
    #[param(inline)]
    pub price_max: Option<Amount>,
    /// The shortest course, in whole hours.
    #[param(inline)]
    pub duration_min: Option<Hours>,
    /// The longest course, in whole hours.
    #[param(inline)]
    pub duration_max: Option<Hours>,
    /// The order: relevance (the default), popular, rating, newest or price.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// The caller's country (ISO 3166 alpha-2); prices are shown in its currency as well as in USD.
    pub country: Option<String>,
}

/// The categories of the taxonomy (R14).
pub(crate) struct Categories;

impl Words for Categories {
    const WORDS: &'static [&'static str] = &events::taxonomy::CATEGORY_NAMES;
}

/// A category of the taxonomy.
pub(crate) type Category = OneOf<Categories>;

/// The subcategories of the taxonomy.
pub(crate) struct Subcategories;

impl Words for Subcategories {
    const WORDS: &'static [&'static str] = &events::taxonomy::SUBCATEGORY_NAMES;
}

/// A subcategory of the taxonomy.
pub(crate) type Subcategory = OneOf<Subcategories>;

/// The levels a catalogue filters by.
pub(crate) struct Levels;

impl Words for Levels {
    const WORDS: &'static [&'static str] = &["beginner", "intermediate", "advanced"];
}

/// A level, in any case (`Beginner` is `beginner`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Level(pub OneOf<Levels>);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        OneOf::new(&text.to_ascii_lowercase())
            .map(Level)
            .ok_or_else(|| D::Error::custom(format!("must be one of {}", Levels::WORDS.join(", "))))
    }
}

impl PartialSchema for Level {
    fn schema() -> RefOr<Schema> {
        OneOf::<Levels>::schema()
    }
}

impl ToSchema for Level {}

/// Whole hours, from 0.
pub(crate) type Hours = Whole<0, { i32::MAX as i64 }>;

/// An average rating, 0 to 5.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rating(pub f64);

impl<'de> Deserialize<'de> for Rating {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        let rating = text.parse::<f64>().ok().filter(|rating| (0.0..=5.0).contains(rating));
        rating.map(Rating).ok_or_else(|| D::Error::custom("must be 0 to 5"))
    }
}

impl PartialSchema for Rating {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0.0)).maximum(Some(5.0)).into()
    }
}

impl ToSchema for Rating {}

/// An amount like `19.99` or `20`, as minor units: at most fifteen digits and two decimals, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amount(pub i64);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        amount(&text).map(Amount).ok_or_else(|| D::Error::custom("must be an amount like 19.99"))
    }
}

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[0-9]{1,15}(\.[0-9]{1,2})?$")).into()
    }
}

impl ToSchema for Amount {}

fn amount(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 15
        || (fraction.is_empty() && text.contains('.'))
        || fraction.len() > 2
        || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// SQL conditions (joined with AND) over `catalog_course c` and their parameters, numbered from 1.
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    pub clauses: Vec<String>,
    pub params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Conditions {
    pub fn push(&mut self, clause: impl FnOnce(usize) -> String, value: impl ToSql + Sync + Send + 'static) {
        self.params.push(Box::new(value));
        self.clauses.push(clause(self.params.len()));
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
    }

    /// The clauses joined with `AND`; `TRUE` when there is none.
    pub fn filter(&self) -> String {
        if self.clauses.is_empty() { "TRUE".to_owned() } else { self.clauses.join(" AND ") }
    }

    pub fn where_clause(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!("WHERE {}", self.clauses.join(" AND ")) }
    }
}

/// `text` with LIKE's wildcards escaped.
pub(crate) fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl CatalogQuery {
    /// The conditions of this query over courses that satisfy `status` (an SQL condition of our own);
    /// `search_instructors` widens a search to instructor names.
    pub fn conditions(&self, display: Display, status: &'static str, search_instructors: bool) -> Conditions {
        let mut found = Conditions::default();
        found.clauses.push(status.to_owned());
        if let Some(search) = &self.search {
            let pattern = format!("%{}%", like_escaped(&search.0));
            if search_instructors {
                found.push(|n| format!("(c.title ILIKE ${n} OR c.instructor_name ILIKE ${n})"), pattern);
            } else {
                found.push(|n| format!("c.title ILIKE ${n}"), pattern);
            }
        }
        if let Some(category) = &self.category {
            found.push(|n| format!("c.category = ${n}"), category.as_str());
        }
        if let Some(subcategory) = &self.subcategory {
            found.push(|n| format!("${n} = ANY (c.subcategories)"), subcategory.as_str());
        }
        if let Some(level) = &self.level {
            found.push(|n| format!("c.level = ${n}"), level.0.as_str());
        }
        if let Some(Rating(rating)) = self.min_rating {
            found.push(|n| format!("c.rating_avg::float8 >= ${n}"), rating);
        }
        if let Some(Amount(low)) = self.price_min {
            found.push(|n| format!("c.base_price_cents >= ${n}"), display.to_usd_cents(low));
        }
        if let Some(Amount(high)) = self.price_max {
            found.push(|n| format!("c.base_price_cents <= ${n}"), display.to_usd_cents(high));
        }
        if let Some(Whole(low)) = self.duration_min {
            found.push(|n| format!("c.duration_h >= ${n}"), low as i32);
        }
        if let Some(Whole(high)) = self.duration_max {
            found.push(|n| format!("c.duration_h <= ${n}"), high as i32);
        }
        found
    }

    /// ORDER BY for this query; the search text is parameter `search_param` when there is one.
    pub fn order_by(&self, search_param: Option<usize>) -> String {
        let tie = "c.published_at DESC, c.id";
        match (self.sort.unwrap_or(Sort::Relevance), search_param) {
            (Sort::Popular, _) => format!("c.enrolled_count DESC, {tie}"),
            (Sort::Rating, _) => format!("c.rating_avg DESC, c.rating_count DESC, {tie}"),
            (Sort::Price, _) => format!("effective_price_cents ASC, {tie}"),
            (Sort::Newest, _) | (Sort::Relevance, None) => tie.to_owned(),
            (Sort::Relevance, Some(n)) => format!(
                "(c.title ILIKE ${n} || '%') DESC, (c.title ILIKE '%' || ${n} || '%') DESC, \
                 word_similarity(${n}, c.title) DESC, {tie}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_contract::Problem;

    fn query(pairs: &[(&str, &str)]) -> Result<CatalogQuery, Problem> {
        let text = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        api_contract::query::read(&text)
    }

    #[test]
    fn blank_parameters_are_dropped_and_values_are_read() {
        let parsed = query(&[
            ("search", " rust "),
            ("category", ""),
            ("level", "Beginner"),
            ("price_min", "10"),
            ("price_max", "19.9"),
            ("duration_max", "3"),
            ("min_rating", "4.5"),
            ("sort", "price"),
        ])
        .expect("valid");
        assert_eq!(parsed.search.map(|search| search.0).as_deref(), Some("rust"));
        assert_eq!(parsed.category, None);
        assert_eq!(parsed.level.map(|level| level.0.as_str()), Some("beginner"));
        assert_eq!((parsed.price_min, parsed.price_max), (Some(Amount(1000)), Some(Amount(1990))));
        assert_eq!(parsed.duration_max, Some(Whole(3)));
        assert_eq!((parsed.min_rating, parsed.sort), (Some(Rating(4.5)), Some(Sort::Price)));
    }

    #[test]
    fn a_subcategory_belongs_to_the_category_given() {
        assert!(query(&[("category", "Database"), ("subcategory", "MySQL")]).is_ok());
        assert!(query(&[("subcategory", "MySQL")]).is_ok(), "alone, any category's");
        assert!(
            query(&[("category", "Business"), ("subcategory", "MySQL")]).is_ok(),
            "finds nothing, like any filters"
        );
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_refused() {
        for (name, value) in [
            ("price_min", "-1"),
            ("price_max", "1.999"),
            ("price_max", "1e3"),
            ("duration_min", "1.5"),
            ("min_rating", "6"),
            ("level", "expert"),
            ("sort", "cheapest"),
            ("category", "Nope"),
            ("subcategory", "Cooking"),
        ] {
            let refused = query(&[(name, value)]).expect_err("refused");
            assert_eq!(refused.errors[0].field, name, "{name}={value}");
        }
    }

    #[test]
    fn searches_escape_like_wildcards_and_prices_convert_to_usd() {
        let parsed = query(&[("search", "100%_off"), ("price_max", "18.40")]).expect("valid");
        let conditions = parsed.conditions(Display { currency: "EUR", rate_ppm: 920_000, exponent: 2 }, "true", true);
        assert_eq!(conditions.clauses.len(), 3);
        assert!(format!("{:?}", conditions.params[0]).contains(r"100\\%\\_off"));
        assert!(format!("{:?}", conditions.params[1]).contains("2000"));
    }
}
