//! The schema check: `schemas/<Type>.v<N>.json` holds the payload schema of every released version of every
//! event type, and the current code must produce exactly the file of each type's current version. A change to
//! an event's payload (a field added, removed, renamed or retyped, a variant added) without a new schema
//! version fails here; so does a new version without its golden fixture.
//!
//! Writing the file of a new version: `LEARNLOG_WRITE_SCHEMAS=1 cargo test -p events --test schemas`. It
//! only creates files that do not exist: a released version's schema never changes.

use std::path::{Path, PathBuf};

use events::Event;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn current(event_type: &str) -> (i32, String) {
    let (_, version) = Event::versions(event_type).expect("a known type");
    let schema = Event::schema(event_type).expect("a known type");
    let text = serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n";
    (version, text)
}

#[test]
fn every_event_type_keeps_the_schema_of_its_current_version() {
    let write = std::env::var_os("LEARNLOG_WRITE_SCHEMAS").is_some();
    let mut problems = Vec::new();
    for event_type in Event::TYPES {
        let (version, schema) = current(event_type);
        let path = dir("schemas").join(format!("{event_type}.v{version}.json"));
        match std::fs::read_to_string(&path) {
            Ok(recorded) if recorded == schema => {}
            Ok(_) => problems.push(format!(
                "{event_type}: its payload changed, but its schema version is still {version}. Give it version {} \
                 in codec.rs (with an upcaster if a version {version} payload cannot be read as it is), add \
                 tests/fixtures/{event_type}.v{}.json, and write the new schema file with LEARNLOG_WRITE_SCHEMAS=1",
                version + 1,
                version + 1
            )),
            Err(_) if write => std::fs::write(&path, &schema).expect("the schema file is written"),
            Err(_) => problems
                .push(format!("{event_type} v{version} has no schema file; write it with LEARNLOG_WRITE_SCHEMAS=1")),
        }
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
fn a_changed_payload_is_caught() {
    // The check compares whole schemas: a payload with one more field is another schema.
    let (_, schema) = current("OrderPaid");
    let mut changed: serde_json::Value = serde_json::from_str(&schema).expect("JSON");
    changed["schema"]["properties"]["note"] = serde_json::json!({ "type": "string" });
    assert_ne!(serde_json::to_string_pretty(&changed).expect("JSON") + "\n", schema);
    assert!(schema.contains("\"currency\""), "version 2 names the currency");
}
