//! `/metrics` as Prometheus reads it: parsed by the official Python client's text parser
//! (`prometheus_client.parser`), not by ours.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One metric family: its name (a counter's without `_total`), type and samples.
#[derive(Debug, Clone, Deserialize)]
pub struct Family {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses Prometheus text; the parser refuses anything that is not valid exposition text.
pub async fn parse(text: &str) -> Vec<Family> {
    crate::python::json("prometheus_parse.py", &[], text.as_bytes()).await
}

/// The samples named `name` whose labels include every pair of `labels`.
pub fn samples<'a>(families: &'a [Family], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    families
        .iter()
        .flat_map(|family| &family.samples)
        .filter(|sample| sample.name == name)
        .filter(|sample| labels.iter().all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value)))
        .collect()
}
