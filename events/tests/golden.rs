//! Golden fixtures: every released (type, schema version) must keep decoding, and the current version must
//! encode to exactly the stored bytes, so nothing already in a store or on a Kafka topic becomes unreadable.

use events::Event;

mod support;

use support::package_dir;

fn fixtures() -> Vec<(String, i32, String)> {
    let dir = package_dir().join("tests/fixtures");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures folder") {
        let path = entry.expect("fixture entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name").to_owned();
        let (event_type, rest) = name.split_once(".v").expect("name is <Type>.v<N>.json");
        let version: i32 = rest.trim_end_matches(".json").parse().expect("numeric version");
        let payload = std::fs::read_to_string(&path).expect("fixture text").trim().to_owned();
        found.push((event_type.to_owned(), version, payload));
    }
    found
}

#[test]
fn every_golden_fixture_decodes() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 2, "fixtures are missing");
    for (event_type, version, payload) in fixtures {
        let decoded = Event::decode(&event_type, version, &payload);
        assert!(decoded.is_ok(), "{event_type} v{version}: {decoded:?}");
    }
}

#[test]
fn current_versions_encode_to_the_golden_bytes() {
    for (event_type, version, payload) in fixtures() {
        let event = Event::decode(&event_type, version, &payload).expect("decodes");
        if event.schema_version() == version {
            assert_eq!(event.event_type(), event_type);
            assert_eq!(event.encode(), payload, "{event_type} v{version} no longer encodes the same");
            let parsed: serde_json::Value = serde_json::from_str(&payload).expect("a fixture is JSON");
            assert_eq!(event.payload(), parsed, "{event_type}'s payload value is its encoding");
        }
    }
}

#[test]
fn every_event_type_has_a_golden_fixture_of_its_current_version() {
    let fixtures = fixtures();
    for event_type in Event::TYPES {
        assert!(fixtures.iter().any(|(t, _, _)| t == event_type), "{event_type} has no fixture in tests/fixtures");
    }
}

#[test]
fn unknown_types_and_versions_are_reported_not_guessed() {
    assert!(matches!(Event::decode("NoSuchEvent", 1, "{}"), Err(events::DecodeError::UnknownType(_))));
    assert!(matches!(Event::decode("CoursePublished", 99, "{}"), Err(events::DecodeError::UnknownVersion { .. })));
    assert!(matches!(
        Event::decode("CoursePublished", 1, r#"{"course_id":"not-a-uuid"}"#),
        Err(events::DecodeError::Payload { .. })
    ));
}

#[test]
fn identity_v1_upcasts_to_v2_with_its_personal_fields_in_clear_and_v2_keeps_them_sealed() {
    let dir = package_dir().join("tests/fixtures");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("fixture").trim().to_owned();
    let v1 = Event::decode("IndividualTraineeRegistered", 1, &read("IndividualTraineeRegistered.v1.json")).expect("v1");
    let Event::IndividualTraineeRegistered(v1) = v1 else { panic!("another type") };
    assert_eq!(v1.name.text(), Some("Ada Lovelace"));
    assert_eq!(v1.email.text(), Some("ada@example.com"));
    let v2 = Event::decode("IndividualTraineeRegistered", 2, &read("IndividualTraineeRegistered.v2.json")).expect("v2");
    let Event::IndividualTraineeRegistered(v2) = v2 else { panic!("another type") };
    assert!(matches!(v2.name, events::Personal::Sealed(_)));
    assert_eq!(v2.name.text(), None, "sealed data reads as nothing until its key opens it");
    assert!(Event::decode("IndividualTraineeRegistered", 3, "{}").is_err(), "no version 3 exists");
}

#[test]
fn order_paid_v1_upcasts_to_v2_in_us_dollars() {
    let dir = package_dir().join("tests/fixtures");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("fixture").trim().to_owned();
    let v1 = read("OrderPaid.v1.json");
    let (version, upcast) = events::upcast("OrderPaid", 1, &v1).expect("upcasts");
    assert_eq!(version, 2);
    let upcast: serde_json::Value = serde_json::from_str(&upcast).expect("JSON");
    assert_eq!(upcast["currency"], "USD");
    assert_eq!(upcast["amount_cents"], 1799);
    let decoded = Event::decode("OrderPaid", 1, &v1).expect("v1 decodes");
    assert_eq!(decoded, Event::decode("OrderPaid", 2, &read("OrderPaid.v2.json")).expect("v2 decodes"));
    assert_eq!(decoded.encode(), read("OrderPaid.v2.json"), "a v1 event reads as the v2 one");
    // A payload at the current version, or one no step changes, is handed back as it is.
    let (version, v2) = events::upcast("OrderPaid", 2, "{\"kept\":true}").expect("current");
    assert_eq!((version, v2.as_ref()), (2, "{\"kept\":true}"));
    let (version, identity) = events::upcast("AdminCreated", 1, "{}").expect("no step");
    assert!(matches!(identity, std::borrow::Cow::Borrowed(_)) && version == 2);
    assert!(events::upcast("OrderPaid", 3, "{}").is_err() && events::upcast("Nope", 1, "{}").is_err());
}
