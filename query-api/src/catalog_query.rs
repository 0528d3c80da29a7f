//! The catalogue's query parameters (API.md, DOMAIN.md 2.6.1), parsed and turned into SQL conditions. Blank
//! parameters are dropped like the original's; a value of the wrong shape is a 400 naming the parameter.

use std::collections::HashMap;

use api_contract::Problem;
use tokio_postgres::types::ToSql;

use crate::money::Display;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    /// With a search: title prefix, then title match, then closeness; newest first without a search.
    Relevance,
    Popular,
    Rating,
    Newest,
    Price,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CatalogQuery {
    pub search: Option<String>,
    pub category: Option<String>,
    pub subcategory: Option<String>,
    pub level: Option<String>,
    pub min_rating: Option<f64>,
    /// In the caller's currency, minor units; compared with the undiscounted price like the original.
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// Whole hours, both ends included.
    pub duration_min: Option<i32>,
    pub duration_max: Option<i32>,
    pub sort: Option<Sort>,
    pub country: Option<String>,
}

/// The levels a catalogue filters by (`level`).
pub(crate) const LEVELS: &[&str] = &["beginner", "intermediate", "advanced"];

/// The catalogue's orders (`sort`).
pub(crate) const SORTS: &[&str] = &["relevance", "popular", "rating", "newest", "price"];

fn malformed(name: &str, expected: &str) -> Problem {
    Problem::invalid_param(name, format!("must be {expected}"))
}

/// "19.99" or "20" as minor units; at most fifteen digits and two decimals, never negative.
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

impl CatalogQuery {
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, Problem> {
        let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let text = |name: &str| get(name).map(str::to_owned);
        let price = |name: &str| {
            get(name).map(|v| amount(v).ok_or_else(|| malformed(name, "an amount like 19.99"))).transpose()
        };
        let hours = |name: &str| {
            get(name)
                .map(|v| v.parse::<i32>().ok().filter(|h| *h >= 0).ok_or_else(|| malformed(name, "whole hours from 0")))
                .transpose()
        };
        let min_rating = get("min_rating")
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=5.0).contains(r))
                    .ok_or_else(|| malformed("min_rating", "0 to 5"))
            })
            .transpose()?;
        let level = text("level").map(|l| l.to_ascii_lowercase());
        if level.as_deref().is_some_and(|l| !LEVELS.contains(&l)) {
            return Err(malformed("level", "beginner, intermediate or advanced"));
        }
        let sort = match get("sort") {
            None => None,
            Some("popular") => Some(Sort::Popular),
            Some("rating") => Some(Sort::Rating),
            Some("newest") => Some(Sort::Newest),
            Some("price") => Some(Sort::Price),
            Some("relevance") => Some(Sort::Relevance),
            Some(_) => return Err(malformed("sort", &SORTS.join(", "))),
        };
        let search = crate::page::search_param(params)?.map(str::to_owned);
        // A category or subcategory outside the taxonomy (R14) finds nothing by definition: it is a mistake.
        let category = text("category");
        if category.as_deref().is_some_and(|c| events::taxonomy::subcategories_of(c).is_none()) {
            return Err(malformed("category", "a category of GET /api/v1/categories"));
        }
        // A subcategory of another category than the one given is in the taxonomy: the two find nothing.
        let subcategory = text("subcategory");
        if subcategory.as_deref().is_some_and(|sub| !events::taxonomy::SUBCATEGORY_NAMES.contains(&sub)) {
            return Err(malformed("subcategory", "a subcategory of GET /api/v1/categories"));
        }
        Ok(CatalogQuery {
            search,
            category,
            subcategory,
            level,
            min_rating,
            price_min: price("price_min")?,
            price_max: price("price_max")?,
            duration_min: hours("duration_min")?,
            duration_max: hours("duration_max")?,
            sort,
            country: text("country"),
        })
    }
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
            let pattern = format!("%{}%", like_escaped(search));
            if search_instructors {
                found.push(|n| format!("(c.title ILIKE ${n} OR c.instructor_name ILIKE ${n})"), pattern);
            } else {
                found.push(|n| format!("c.title ILIKE ${n}"), pattern);
            }
        }
        if let Some(category) = &self.category {
            found.push(|n| format!("c.category = ${n}"), category.clone());
        }
        if let Some(subcategory) = &self.subcategory {
            found.push(|n| format!("${n} = ANY (c.subcategories)"), subcategory.clone());
        }
        if let Some(level) = &self.level {
            found.push(|n| format!("c.level = ${n}"), level.clone());
        }
        if let Some(rating) = self.min_rating {
            found.push(|n| format!("c.rating_avg::float8 >= ${n}"), rating);
        }
        if let Some(low) = self.price_min {
            found.push(|n| format!("c.base_price_cents >= ${n}"), display.to_usd_cents(low));
        }
        if let Some(high) = self.price_max {
            found.push(|n| format!("c.base_price_cents <= ${n}"), display.to_usd_cents(high));
        }
        if let Some(low) = self.duration_min {
            found.push(|n| format!("c.duration_h >= ${n}"), low);
        }
        if let Some(high) = self.duration_max {
            found.push(|n| format!("c.duration_h <= ${n}"), high);
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

    fn query(pairs: &[(&str, &str)]) -> Result<CatalogQuery, Problem> {
        CatalogQuery::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
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
        assert_eq!(parsed.search.as_deref(), Some("rust"));
        assert_eq!(parsed.category, None);
        assert_eq!(parsed.level.as_deref(), Some("beginner"));
        assert_eq!((parsed.price_min, parsed.price_max), (Some(1000), Some(1990)));
        assert_eq!((parsed.duration_max, parsed.min_rating, parsed.sort), (Some(3), Some(4.5), Some(Sort::Price)));
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
