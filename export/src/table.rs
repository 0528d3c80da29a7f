//! One event type's rows on their way to a file: Arrow builders for the envelope's columns and the payload's,
//! turned into a record batch every few thousand rows, so memory stays bounded however long the history is.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use event_store::history::HistoryEvent;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ExportError;
use crate::columns::{Column, Kind, payload_columns};

/// Timestamps are UTC, written as an offset (named zones need chrono-tz, which nothing here needs).
const UTC: &str = "+00:00";

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// A builder of one payload column.
#[derive(Debug)]
enum Builder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Text(StringBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Date(Date32Builder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Int64 => Builder::Int64(Int64Builder::new()),
            Kind::Float64 => Builder::Float64(Float64Builder::new()),
            Kind::Boolean => Builder::Boolean(BooleanBuilder::new()),
            Kind::Text | Kind::Json => Builder::Text(StringBuilder::new()),
            Kind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone(UTC)),
            Kind::Date => Builder::Date(Date32Builder::new()),
        }
    }

    fn data_type(kind: Kind) -> DataType {
        match kind {
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Boolean => DataType::Boolean,
            Kind::Text | Kind::Json => DataType::Utf8,
            Kind::Timestamp => timestamp(),
            Kind::Date => DataType::Date32,
        }
    }

    /// Appends `value` as `column` says; a value of another shape is an error, never a silent null.
    fn append(&mut self, column: &Column, value: Option<&Value>) -> Result<(), String> {
        let value = value.filter(|value| !value.is_null());
        let wrong =
            || format!("{} is not {:?}: {}", column.name, column.kind, value.map_or(String::new(), Value::to_string));
        match (self, value) {
            (Builder::Int64(b), None) => b.append_null(),
            (Builder::Float64(b), None) => b.append_null(),
            (Builder::Boolean(b), None) => b.append_null(),
            (Builder::Text(b), None) => b.append_null(),
            (Builder::Timestamp(b), None) => b.append_null(),
            (Builder::Date(b), None) => b.append_null(),
            (Builder::Int64(b), Some(value)) => b.append_value(value.as_i64().ok_or_else(wrong)?),
            (Builder::Float64(b), Some(value)) => b.append_value(value.as_f64().ok_or_else(wrong)?),
            (Builder::Boolean(b), Some(value)) => b.append_value(value.as_bool().ok_or_else(wrong)?),
            (Builder::Text(b), Some(Value::String(text))) if column.kind == Kind::Text => b.append_value(text),
            (Builder::Text(b), Some(value)) if column.kind == Kind::Json => b.append_value(value.to_string()),
            (Builder::Timestamp(b), Some(Value::String(text))) => {
                b.append_value(micros(OffsetDateTime::parse(text, &Rfc3339).map_err(|_| wrong())?));
            }
            (Builder::Date(b), Some(Value::String(text))) => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                let date = time::Date::parse(text, format).map_err(|_| wrong())?;
                b.append_value(
                    date.to_julian_day() - time::Date::from_ordinal_date(1970, 1).map_err(|_| wrong())?.to_julian_day(),
                );
            }
            _ => return Err(wrong()),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
        }
    }
}

/// The envelope's builders.
#[derive(Debug, Default)]
struct Envelope {
    position: Int64Builder,
    stream_id: StringBuilder,
    stream_version: Int64Builder,
    event_id: StringBuilder,
    event_type: StringBuilder,
    schema_version: Int32Builder,
    occurred_at: TimestampMicrosecondBuilder,
    recorded_at: TimestampMicrosecondBuilder,
    correlation_id: StringBuilder,
    causation_id: StringBuilder,
    actor_id: StringBuilder,
    actor_role: StringBuilder,
}

/// The rows of one event type not written yet.
#[derive(Debug)]
pub struct Table {
    schema: SchemaRef,
    columns: Vec<Column>,
    envelope: Envelope,
    payload: Vec<Builder>,
    rows: usize,
}

impl Table {
    /// An empty table of `event_type`; `None` for a type this code does not know.
    pub fn new(event_type: &str) -> Option<Table> {
        let columns = payload_columns(event_type)?;
        let mut fields = vec![
            Field::new("position", DataType::Int64, false),
            Field::new("stream_id", DataType::Utf8, false),
            Field::new("stream_version", DataType::Int64, false),
            Field::new("event_id", DataType::Utf8, false),
            Field::new("event_type", DataType::Utf8, false),
            Field::new("schema_version", DataType::Int32, false),
            Field::new("occurred_at", timestamp(), false),
            Field::new("recorded_at", timestamp(), false),
            Field::new("correlation_id", DataType::Utf8, true),
            Field::new("causation_id", DataType::Utf8, true),
            Field::new("actor_id", DataType::Utf8, true),
            Field::new("actor_role", DataType::Utf8, true),
        ];
        fields.extend(columns.iter().map(|c| Field::new(&c.name, Builder::data_type(c.kind), c.nullable)));
        let envelope = Envelope {
            occurred_at: TimestampMicrosecondBuilder::new().with_timezone(UTC),
            recorded_at: TimestampMicrosecondBuilder::new().with_timezone(UTC),
            ..Envelope::default()
        };
        let payload = columns.iter().map(|c| Builder::new(c.kind)).collect();
        Some(Table { schema: Arc::new(Schema::new(fields)), columns, envelope, payload, rows: 0 })
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds one event (which decoded) as a row.
    pub fn push(&mut self, event: &HistoryEvent, payload: &Value) -> Result<(), ExportError> {
        for (column, builder) in self.columns.iter().zip(&mut self.payload) {
            let value = column.path.iter().try_fold(payload, |value, key| value.get(key));
            builder.append(column, value).map_err(|reason| ExportError::Shape {
                event_type: event.event_type.clone(),
                position: event.position,
                reason,
            })?;
        }
        let e = &mut self.envelope;
        e.position.append_value(event.position);
        e.stream_id.append_value(&event.stream_id);
        e.stream_version.append_value(event.stream_version);
        e.event_id.append_value(event.event_id.to_string());
        e.event_type.append_value(&event.event_type);
        e.schema_version.append_value(event.schema_version);
        e.occurred_at.append_value(micros(event.occurred_at));
        e.recorded_at.append_value(micros(event.recorded_at));
        e.correlation_id.append_option(event.metadata.correlation_id.map(|id| id.to_string()));
        e.causation_id.append_option(event.metadata.causation_id.map(|id| id.to_string()));
        e.actor_id.append_option(event.metadata.actor.map(|actor| actor.user_id.to_string()));
        e.actor_role.append_option(event.metadata.actor.map(|actor| actor.role.as_str()));
        self.rows += 1;
        Ok(())
    }

    /// The rows so far as a record batch; the table is empty afterwards.
    pub fn take(&mut self) -> Result<RecordBatch, ExportError> {
        let e = &mut self.envelope;
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(e.position.finish()),
            Arc::new(e.stream_id.finish()),
            Arc::new(e.stream_version.finish()),
            Arc::new(e.event_id.finish()),
            Arc::new(e.event_type.finish()),
            Arc::new(e.schema_version.finish()),
            Arc::new(e.occurred_at.finish()),
            Arc::new(e.recorded_at.finish()),
            Arc::new(e.correlation_id.finish()),
            Arc::new(e.causation_id.finish()),
            Arc::new(e.actor_id.finish()),
            Arc::new(e.actor_role.finish()),
        ];
        arrays.extend(self.payload.iter_mut().map(Builder::finish));
        self.rows = 0;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), arrays)?)
    }
}
