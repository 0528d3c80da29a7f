//! The schema check: `schemas/<Type>.v<N>.json` holds the payload schema of every released version of every
//! event type, and the current code must produce exactly the file of each type's current version. A change to
//! an event's payload (a field added, removed, renamed or retyped, a variant added) without a new schema
//! version fails here; so does a new version without its golden fixture.
//!
//! Writing the file of a new version: `LEARNLOG_WRITE_SCHEMAS=1 cargo test -p events --test schemas`. It
//! only creates files that do not exist: a released version's schema never changes.

use std::path::PathBuf;

use events::Event;

mod support;

use support::package_dir;

fn dir(name: &str) -> PathBuf {
    package_dir().join(name)
}

fn current(event_type: &str) -> (i32, String) {
    let (_, version) = Event::versions(event_type).expect("a known type");
    let schema = Event::schema(event_type).expect("a known type");
    let text = serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n";
    (version, text)
}

/// What is wrong when the schema file of `event_type` v`version` holds `recorded` (`None`: no file) and the
/// code makes `current`; `None` when they agree.
fn problem(event_type: &str, version: i32, recorded: Option<&str>, current: &str) -> Option<String> {
    match recorded {
        Some(recorded) if recorded == current => None,
        Some(_) => Some(format!(
            "{event_type}: its payload changed, but its schema version is still {version}. Give it version {} in \
             codec.rs (with an upcaster if a version {version} payload cannot be read as it is), add \
             tests/fixtures/{event_type}.v{}.json, and write the new schema file with LEARNLOG_WRITE_SCHEMAS=1",
            version + 1,
            version + 1
        )),
        None => Some(format!("{event_type} v{version} has no schema file; write it with LEARNLOG_WRITE_SCHEMAS=1")),
    }
}

#[test]
fn every_event_type_keeps_the_schema_of_its_current_version() {
    let write = std::env::var_os("LEARNLOG_WRITE_SCHEMAS").is_some();
    let mut problems = Vec::new();
    for event_type in Event::TYPES {
        let (version, schema) = current(event_type);
        let path = dir("schemas").join(format!("{event_type}.v{version}.json"));
        let recorded = std::fs::read_to_string(&path).ok();
        if recorded.is_none() && write {
            std::fs::write(&path, &schema).expect("the schema file is written");
            continue;
        }
        problems.extend(problem(event_type, version, recorded.as_deref(), &schema));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_schema_file_is_of_a_known_version_with_a_golden_fixture() {
    for entry in std::fs::read_dir(dir("schemas")).expect("the schemas folder") {
        let name = entry.expect("an entry").file_name().into_string().expect("a UTF-8 name");
        let (event_type, version) = name.trim_end_matches(".json").split_once(".v").expect("<Type>.v<N>.json");
        let version: i32 = version.parse().expect("a numeric version");
        let (oldest, current) = Event::versions(event_type).unwrap_or_else(|| panic!("{name}: an unknown type"));
        assert!((oldest..=current).contains(&version), "{name}: a version the code does not read");
        let fixture = dir("tests/fixtures").join(&name);
        assert!(fixture.exists(), "{name} has no golden fixture");
    }
}

#[test]
fn a_changed_payload_is_caught_and_an_unchanged_one_passes() {
    let (version, schema) = current("OrderPaid");
    assert!(schema.contains("\"currency\""), "version 2 names the currency");
    let recorded = std::fs::read_to_string(dir("schemas").join("OrderPaid.v2.json")).expect("recorded");
    assert_eq!(problem("OrderPaid", version, Some(&recorded), &schema), None);
    // One more optional field, one field retyped, one enum value more: each is another schema.
    let original: serde_json::Value = serde_json::from_str(&schema).expect("JSON");
    let mut added = original.clone();
    added["schema"]["properties"]["note"] = serde_json::json!({ "type": ["string", "null"] });
    let mut retyped = original.clone();
    retyped["schema"]["properties"]["amount_cents"] = serde_json::json!({ "type": "string" });
    let mut widened = original;
    widened["components"]["PaymentMethod"]["enum"] = serde_json::json!(["card", "wallet", "voucher"]);
    for changed in [added, retyped, widened] {
        let changed = serde_json::to_string_pretty(&changed).expect("JSON") + "\n";
        let found = problem("OrderPaid", version, Some(&recorded), &changed).expect("a change is caught");
        assert!(found.contains("version 3"), "{found}");
    }
    assert!(problem("OrderPaid", version, None, &schema).is_some(), "a missing file is caught");
}
