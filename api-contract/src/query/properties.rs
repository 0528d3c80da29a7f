//! Properties of query parameters on generated input: each value type takes exactly the values its rule
//! allows (trimmed, a blank one missing) and refuses the others naming the parameter, and no query string makes
//! the reader panic.

use proptest::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Day, Listed, OneOf, Text, Whole, Words, read};
use crate::{MAX_PAGE, MAX_WHOLE, Problem};

/// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

struct Levels;

impl Words for Levels {
    const WORDS: &'static [&'static str] = &["beginner", "intermediate", "advanced"];
}

/// One parameter, `p`, of type `T`.
#[derive(Debug, Deserialize)]
struct One<T> {
    p: Option<T>,
}

/// Every value type at once, for the reader as a whole.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Every {
    page: Option<Whole<1, 10>>,
    search: Option<Text<3>>,
    from: Option<Day>,
    level: Option<OneOf<Levels>>,
    levels: Option<Listed<Levels>>,
}

/// `p=<value>`, encoded as a browser would.
fn query(value: &str) -> String {
    form_urlencoded::Serializer::new(String::new()).append_pair("p", value).finish()
}

/// A refusal as the client sees it: status, code and the field named (none for the query string as a whole).
type Refusal = (u16, &'static str, String);

fn refusal(problem: &Problem) -> Refusal {
    let field = problem.errors.first().map(|error| error.field.clone()).unwrap_or_default();
    (problem.status.as_u16(), problem.code, field)
}

/// The refusal of `p`'s value.
fn refused() -> Refusal {
    (400, "malformed_request", "p".to_owned())
}

/// `p` read as a `T`, or its refusal.
fn read_p<T: DeserializeOwned>(value: &str) -> Result<Option<T>, Refusal> {
    read::<One<T>>(&query(value)).map(|one| one.p).map_err(|problem| refusal(&problem))
}

/// Spaces, tabs or line breaks a client may leave around a value.
fn padding() -> impl Strategy<Value = String> {
    "[ \t\n]{0,2}"
}

fn padded(value: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (padding(), value, padding()).prop_map(|(before, value, after)| format!("{before}{value}{after}"))
}

/// Numbers near `low` and `high`, and any number, written plainly, with a sign or with leading zeros.
fn number_near(low: i64, high: i64) -> impl Strategy<Value = String> {
    let number = prop_oneof![
        low.saturating_sub(3)..=low.saturating_add(3),
        high.saturating_sub(3)..=high.saturating_add(3),
        any::<i64>(),
    ];
    (number, 0..3_u8).prop_map(|(n, style)| match style {
        0 => n.to_string(),
        1 if n >= 0 => format!("+{n}"),
        _ if n >= 0 => format!("00{n}"),
        _ => n.to_string(),
    })
}

/// A value for a parameter of a whole number from `low` to `high`: a number, or any text.
fn whole_value(low: i64, high: i64) -> impl Strategy<Value = String> {
    prop_oneof![3 => padded(number_near(low, high)), 1 => any::<String>()]
}

/// A `Whole<MIN, MAX>` takes a whole number from `MIN` to `MAX`, and nothing else.
fn takes_its_range<const MIN: i64, const MAX: i64>(value: &str) -> Result<(), TestCaseError> {
    let expected = match value.trim() {
        "" => Ok(None),
        given => match given.parse::<i64>() {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(Some(Whole::<MIN, MAX>(n))),
            _ => Err(refused()),
        },
    };
    prop_assert_eq!(read_p::<Whole<MIN, MAX>>(value), expected);
    Ok(())
}

/// A list entry: a word of the list, another word, or nothing, with spaces around.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(Levels::WORDS).prop_map(str::to_owned),
        1 => "[a-z]{1,6}",
        1 => Just("Beginner".to_owned()),
        1 => Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_whole_number_parameter_takes_exactly_the_numbers_of_its_range(
        small in whole_value(1, 10),
        signed in whole_value(-5, 5),
        page in whole_value(1, MAX_PAGE),
        limit in whole_value(1, MAX_WHOLE),
    ) {
        takes_its_range::<1, 10>(&small)?;
        takes_its_range::<-5, 5>(&signed)?;
        takes_its_range::<1, MAX_PAGE>(&page)?;
        takes_its_range::<1, MAX_WHOLE>(&limit)?;
    }

    #[test]
    fn a_text_parameter_takes_text_up_to_its_length(
        value in padded(prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter)),
    ) {
        let given = value.trim();
        let expected = match given.chars().count() {
            0 => Ok(None),
            1..=3 => Ok(Some(Text::<3>(given.to_owned()))),
            _ => Err(refused()),
        };
        prop_assert_eq!(read_p::<Text<3>>(&value), expected);
    }

    #[test]
    fn a_day_parameter_takes_exactly_the_days_of_the_calendar(
        year in 1_i32..=9999,
        month in 0_u8..=13,
        day in 0_u8..=32,
        before in padding(),
    ) {
        let value = format!("{before}{year:04}-{month:02}-{day:02}");
        let calendar =
            time::Month::try_from(month).ok().and_then(|month| time::Date::from_calendar_date(year, month, day).ok());
        let expected = calendar.map(|date| Some(Day(date))).ok_or_else(refused);
        prop_assert_eq!(read_p::<Day>(&value), expected);
    }

    #[test]
    fn a_word_parameter_takes_one_of_its_words_as_written(value in padded(entry())) {
        let expected = match value.trim() {
            "" => Ok(None),
            given => Levels::WORDS.iter().find(|word| **word == given).map(|word| Some(*word)).ok_or_else(refused),
        };
        prop_assert_eq!(read_p::<OneOf<Levels>>(&value).map(|word| word.map(|word| word.as_str())), expected);
    }

    #[test]
    fn a_list_parameter_takes_its_words_in_order_and_refuses_any_other(
        entries in prop::collection::vec(padded(entry()), 0..5),
    ) {
        let value = entries.join(",");
        let given: Vec<&str> = entries.iter().map(|entry| entry.trim()).filter(|entry| !entry.is_empty()).collect();
        let expected = if entries.len() <= 1 && given.is_empty() {
            Ok(None)
        } else if !given.is_empty() && given.iter().all(|entry| Levels::WORDS.contains(entry)) {
            Ok(Some(given))
        } else {
            Err(refused())
        };
        prop_assert_eq!(read_p::<Listed<Levels>>(&value).map(|listed| listed.map(|listed| listed.0)), expected);
    }

    #[test]
    fn any_query_string_is_read_or_refused_naming_a_parameter(
        raw in prop_oneof![
            any::<String>(),
            prop::collection::vec(
                (prop::sample::select(&["page", "search", "from", "level", "levels", "other"][..]), any::<String>()),
                0..6,
            )
            .prop_map(|pairs| form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()),
        ],
    ) {
        if let Err(problem) = read::<Every>(&raw) {
            let (status, code, field) = refusal(&problem);
            prop_assert_eq!((status, code), (400, "malformed_request"));
            let names = ["", "page", "search", "from", "level", "levels"];
            prop_assert!(names.contains(&field.as_str()), "{:?} names {:?}", raw, field);
        }
    }
}
