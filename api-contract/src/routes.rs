//! Routes that document themselves: each route is registered once, with its method, path, a summary and who
//! may call it, and the OpenAPI 3.1 document is built from that same list. The document cannot miss a
//! route or list one that does not exist. Who may call a route is also enforced from that declaration, once,
//! before the handler runs: a missing or invalid token is 401, a role the route is not for is 403. What only
//! an aggregate knows (is this the course's instructor?) is its decider's to say.

use std::sync::Arc;

use crate::auth::TokenKeys;
use crate::problem::Problem;
use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use events::Role;
use http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, RefOr, Required, Type,
};

/// Who may call a route (the authorization matrix of DOMAIN.md, per route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, with or without a token.
    Anyone,
    /// Meant for guests; a token is not needed and changes nothing.
    Guest,
    /// Any signed-in user, acting on their own data.
    User,
    /// Any signed-in user, by a bearer token or by a live-stream ticket in the query (`ticket`), for clients that
    /// send no header (a browser's EventSource).
    UserOrTicket,
    Instructor,
    /// Individual and corporate trainees.
    Trainee,
    /// Instructors, for their own courses, and admins.
    InstructorOrAdmin,
    /// The course's instructor.
    Owner,
    /// The course's instructor or an admin.
    OwnerOrAdmin,
    Admin,
    /// Analysts and admins: the event history.
    AnalystOrAdmin,
}

impl Who {
    pub fn describe(self) -> &'static str {
        match self {
            Who::Anyone => "anyone",
            Who::Guest => "guests",
            Who::User => "any signed-in user, for themselves",
            Who::UserOrTicket => {
                "any signed-in user, for themselves (a bearer token, or a ticket from `/me/live/ticket`)"
            }
            Who::Instructor => "instructors",
            Who::Trainee => "trainees",
            Who::InstructorOrAdmin => "instructors (their own courses) and admins",
            Who::Owner => "the course's instructor",
            Who::OwnerOrAdmin => "the course's instructor or an admin",
            Who::Admin => "admins",
            Who::AnalystOrAdmin => "analysts and admins",
        }
    }

    fn needs_token(self) -> bool {
        !matches!(self, Who::Anyone | Who::Guest)
    }

    /// The roles a route for these callers is open to (`None`: anyone, token or not).
    pub fn roles(self) -> Option<&'static [Role]> {
        const EVERY_ROLE: &[Role] =
            &[Role::Admin, Role::Instructor, Role::IndividualTrainee, Role::CorporateTrainee, Role::Analyst];
        match self {
            Who::Anyone | Who::Guest => None,
            Who::User | Who::UserOrTicket => Some(EVERY_ROLE),
            Who::Instructor | Who::Owner => Some(&[Role::Instructor]),
            Who::Trainee => Some(&[Role::IndividualTrainee, Role::CorporateTrainee]),
            Who::InstructorOrAdmin | Who::OwnerOrAdmin => Some(&[Role::Instructor, Role::Admin]),
            Who::Admin => Some(&[Role::Admin]),
            Who::AnalystOrAdmin => Some(&[Role::Analyst, Role::Admin]),
        }
    }
}

/// Lets a request through only if its token's role is one the route is for.
async fn enforce(State((keys, who)): State<(Arc<TokenKeys>, Who)>, request: Request, next: Next) -> Response {
    let Some(roles) = who.roles() else { return next.run(request).await };
    let caller = match who {
        Who::UserOrTicket => {
            let query = request.uri().query().unwrap_or_default();
            let ticket = form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "ticket").map(|(_, t)| t);
            crate::auth::live_caller(&keys, request.headers(), ticket.as_deref())
        }
        _ => crate::auth::authenticate(&keys, request.headers()),
    };
    match caller {
        Err(problem) => problem.into_response(),
        Ok(actor) if roles.contains(&actor.role) => next.run(request).await,
        Ok(_) => Problem::forbidden(format!("This is for {} only.", who.describe())).into_response(),
    }
}

/// Lets a request through only if it sends no query parameter the route does not read.
async fn known_query(State(known): State<Arc<[String]>>, request: Request, next: Next) -> Response {
    if let Some(unknown) = unknown_parameter(request.uri().query().unwrap_or_default(), &known) {
        let takes = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        let problem = Problem::invalid_param(&unknown, format!("is not a parameter of this route (it takes {takes})"));
        return problem.into_response();
    }
    next.run(request).await
}

/// The first parameter of `query` not in `known`.
fn unknown_parameter(query: &str, known: &[String]) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !known.iter().any(|known| known == name.as_ref()))
        .map(|name| name.into_owned())
}

/// One documented route.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// In axum's syntax, which OpenAPI shares: `/api/v1/courses/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub who: Who,
    /// The JSON body the handler parses, as the schema its own type derives.
    pub body: Option<BodySchema>,
    /// The media types of a body of bytes the handler checks itself (a picture), instead of JSON, and the
    /// largest such body the route reads.
    pub body_media: &'static [&'static str],
    pub body_limit: Option<usize>,
    /// The query parameters the handler reads, as the types it reads them into document them
    /// ([`crate::query`]).
    pub query: Vec<Parameter>,
    /// The body of a successful answer, when it is described field by field (else the envelope: a
    /// command's `{data: {id, version}, consistency_token}`, a read's `{data}`).
    pub answer: Option<BodySchema>,
    /// A success answers `204` with no body.
    pub no_content: bool,
    /// Headers a request must send.
    pub headers: Vec<&'static str>,
    /// A success answers bytes of this media type (a PDF, NDJSON) instead of JSON.
    pub media: Option<&'static str>,
}

/// The schema of a request body type, with the schemas it refers to.
#[derive(Clone)]
pub struct BodySchema {
    pub name: String,
    pub schemas: Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
}

impl std::fmt::Debug for BodySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodySchema").field("name", &self.name).finish_non_exhaustive()
    }
}

impl BodySchema {
    pub fn of<T: utoipa::ToSchema>() -> Self {
        let mut schemas = vec![(T::name().into_owned(), <T as utoipa::PartialSchema>::schema())];
        T::schemas(&mut schemas);
        BodySchema { name: T::name().into_owned(), schemas }
    }
}

/// A router that records every route it is given, with who may call it.
#[derive(Debug)]
pub struct ApiRoutes<S> {
    routes: Vec<(&'static str, MethodRouter<S>, Who)>,
    operations: Vec<Operation>,
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRoutes<S> {
    fn default() -> Self {
        ApiRoutes { routes: Vec::new(), operations: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> ApiRoutes<S> {
    pub fn route<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        handler: H,
        who: Who,
        summary: &'static str,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| unreachable!("routes use the standard methods, not {method}"));
        self.routes.push((path, on(filter, handler), who));
        self.operations.push(Operation {
            method,
            path,
            summary,
            who,
            body: None,
            body_media: &[],
            body_limit: None,
            query: Vec::new(),
            answer: None,
            no_content: false,
            headers: Vec::new(),
            media: None,
        });
        self
    }

    /// The route registered last parses a JSON body of type `T`: the document describes it with the schema
    /// `T` derives, so the two cannot drift.
    pub fn body<T: utoipa::ToSchema>(mut self) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            // A second body is a misplaced declaration: it belongs to the route before, which would lose it.
            assert!(operation.body.is_none(), "{} {} declares two bodies", operation.method, operation.path);
            operation.body = Some(BodySchema::of::<T>());
        }
        self
    }

    /// The route registered last takes a body of bytes of one of `media_types` (a picture), of at most `limit`
    /// bytes (beyond it, `413`), which the handler reads with [`crate::BytesCommand`] and checks by its bytes.
    pub fn body_bytes(mut self, media_types: &'static [&'static str], limit: usize) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.body_media = media_types;
            operation.body_limit = Some(limit);
        }
        self
    }

    /// The route registered last answers a success with `T` itself (no envelope).
    pub fn answers<T: utoipa::ToSchema>(mut self) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.answer = Some(BodySchema::of::<T>());
        }
        self
    }

    /// The route registered last needs header `name` in every request.
    pub fn requires_header(mut self, name: &'static str) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.headers.push(name);
        }
        self
    }

    /// The route registered last answers a success with `{data: T}`.
    pub fn answers_data<T: utoipa::ToSchema>(self) -> Self {
        let item = utoipa::openapi::Ref::from_schema_name(T::name());
        self.answers_with::<T>("Data", ObjectBuilder::new().property("data", item).required("data"))
    }

    /// The route registered last answers a success with `{data: [T]}`.
    pub fn answers_data_list<T: utoipa::ToSchema>(self) -> Self {
        let items =
            utoipa::openapi::schema::ArrayBuilder::new().items(utoipa::openapi::Ref::from_schema_name(T::name()));
        self.answers_with::<T>("DataList", ObjectBuilder::new().property("data", items).required("data"))
    }

    /// The route registered last answers a success with a page of `T` (the list envelope of API.md:
    /// `{data, page, page_size, total_pages, total_results}`).
    pub fn answers_page<T: utoipa::ToSchema>(self) -> Self {
        let items =
            utoipa::openapi::schema::ArrayBuilder::new().items(utoipa::openapi::Ref::from_schema_name(T::name()));
        let integer = || ObjectBuilder::new().schema_type(Type::Integer);
        let page = ObjectBuilder::new()
            .property("data", items)
            .property("page", integer())
            .property("page_size", integer())
            .property("total_pages", integer())
            .property("total_results", integer());
        let page = ["data", "page", "page_size", "total_pages", "total_results"]
            .into_iter()
            .fold(page, |page, field| page.required(field));
        self.answers_with::<T>("Page", page)
    }

    fn answers_with<T: utoipa::ToSchema>(mut self, kind: &str, wrapper: ObjectBuilder) -> Self {
        let name = format!("{kind}Of{}", T::name());
        let mut schemas =
            vec![(name.clone(), wrapper.into()), (T::name().into_owned(), <T as utoipa::PartialSchema>::schema())];
        T::schemas(&mut schemas);
        if let Some(operation) = self.operations.last_mut() {
            operation.answer = Some(BodySchema { name, schemas });
        }
        self
    }

    /// The route registered last answers a success with `204` and no body.
    pub fn no_content(mut self) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.no_content = true;
        }
        self
    }

    /// The route registered last answers a success with bytes of `media_type`, not JSON.
    pub fn answers_media(mut self, media_type: &'static str) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.media = Some(media_type);
        }
        self
    }

    /// The route registered last reads query parameters into `T` (with [`crate::query::Params`]): the document
    /// describes `T`'s fields, and a parameter that is not one of them is refused.
    pub fn query_params<T: utoipa::IntoParams>(mut self) -> Self {
        if let Some(operation) = self.operations.last_mut() {
            operation.query.extend(T::into_params(|| Some(ParameterIn::Query)));
        }
        self
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The routes, each behind the check of who may call it (tokens verified with `keys`) and of its query
    /// parameters (one it does not read is `400` naming it, as an unknown body field is).
    pub fn into_router(self, keys: &Arc<TokenKeys>) -> Router<S> {
        self.routes.into_iter().zip(self.operations).fold(Router::new(), |router, ((path, route, who), operation)| {
            let policy = axum::middleware::from_fn_with_state((Arc::clone(keys), who), enforce);
            // A wildcard route hands the query to the route it names, which checks it.
            let route = match path.contains("{*") {
                true => route,
                false => {
                    let known: Arc<[String]> = operation.query.iter().map(|parameter| parameter.name.clone()).collect();
                    route.route_layer(axum::middleware::from_fn_with_state(known, known_query))
                }
            };
            // A route's own body limit, closer to the handler than the API's, is the one that holds there.
            let route = match operation.body_limit {
                Some(limit) => route.layer(axum::extract::DefaultBodyLimit::max(limit)),
                None => route,
            };
            router.route(path, route.route_layer(policy))
        })
    }
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// `getApiV1CoursesIdPublish`-like: the method and the path's words, for client generators.
fn operation_id(method: &Method, path: &str) -> String {
    let words =
        path.split(['/', '-', '_', '{', '}', '*']).filter(|word| !word.is_empty() && *word != "api" && *word != "v1");
    words.fold(method.as_str().to_ascii_lowercase(), |mut id, word| {
        let mut letters = word.chars();
        if let Some(first) = letters.next() {
            id.extend(first.to_uppercase());
            id.push_str(letters.as_str());
        }
        id
    })
}

/// The group a route is listed under: its first word after `/api/v1/` (`admin` routes by their second).
fn tag(path: &str) -> String {
    let mut words = path.trim_start_matches("/api/v1/").split('/');
    match words.next().unwrap_or_default() {
        "admin" => format!("admin {}", words.next().unwrap_or_default()),
        word => word.replace(".json", ""),
    }
}

/// The last page a list may be asked for (far beyond any list's end, and no offset overflows).
pub const MAX_PAGE: i64 = 1_000_000_000_000_000;

/// The largest whole number a query parameter takes: 2^53 - 1, what every JSON client holds exactly.
pub const MAX_WHOLE: i64 = 9_007_199_254_740_991;

/// The most items a page holds (`limit`).
pub const MAX_PAGE_SIZE: i64 = 100;

/// The longest search text (`search`, `stream_prefix`).
pub const SEARCH_MAX_CHARS: usize = 200;

/// Problem JSON, as it is sent.
fn problem_response(description: &str) -> utoipa::openapi::Response {
    let content =
        utoipa::openapi::ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")));
    ResponseBuilder::new().description(description).content("application/problem+json", content.build()).build()
}

/// A JSON answer whose body is `schema`.
fn json_response(description: &str, schema: &str) -> utoipa::openapi::Response {
    let content = utoipa::openapi::ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name(schema)));
    ResponseBuilder::new().description(description).content("application/json", content.build()).build()
}

/// The OpenAPI 3.1 document of `operations`: every route with who may call it, its path and query
/// parameters, its request body (the schema the handler's own body type derives), its answers (the
/// `{data, consistency_token}` envelope, or problem JSON for every 4xx and 5xx) and its security.
pub fn openapi(title: &str, version: &str, operations: &[Operation]) -> OpenApi {
    let mut paths = Paths::new();
    let mut components = ComponentsBuilder::new();
    let mut problem = vec![(
        <crate::problem::ProblemBody<'_> as utoipa::ToSchema>::name().into_owned(),
        <crate::problem::ProblemBody<'_> as utoipa::PartialSchema>::schema(),
    )];
    <crate::problem::ProblemBody<'_> as utoipa::ToSchema>::schemas(&mut problem);
    for (name, schema) in problem {
        components = components.schema(name, schema);
    }
    components = components.schema("Answer", answer_schema());
    let mut accepted = vec![(
        <CommandAnswer as utoipa::ToSchema>::name().into_owned(),
        <CommandAnswer as utoipa::PartialSchema>::schema(),
    )];
    <CommandAnswer as utoipa::ToSchema>::schemas(&mut accepted);
    for (name, schema) in accepted {
        components = components.schema(name, schema);
    }
    /// A body of `media`: bytes, or, for a stream of server-sent events, one event as an SSE client reads it
    /// (its `data` a JSON text), which is how OpenAPI 3.1 tools read a stream's schema.
    fn media_schema(media: &str) -> ObjectBuilder {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        match media {
            "text/event-stream" => ObjectBuilder::new()
                .property("event", text().description(Some("The kind of change.")))
                .property("id", text().description(Some("Its place, for `Last-Event-ID`.")))
                .property("data", text().description(Some("JSON: what changed, and a `consistency_token`.")))
                .property("retry", ObjectBuilder::new().schema_type(Type::Integer))
                .required("data"),
            _ => text(),
        }
    }
    let mut named = std::collections::BTreeMap::new();
    let mut register = |components: ComponentsBuilder,
                        name: &String,
                        schema: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
        let text = serde_json::to_string(schema).unwrap_or_default();
        if let Some(earlier) = named.insert(name.clone(), text.clone()) {
            assert_eq!(earlier, text, "two different schemas are named {name}: give one `#[schema(as = ...)]`");
        }
        components.schema(name.clone(), schema.clone())
    };
    for operation in operations {
        let success = match (&operation.answer, operation.method == Method::GET) {
            _ if operation.no_content => ResponseBuilder::new().description("Done; no body.").build(),
            _ if operation.media.is_some() => {
                let media = operation.media.unwrap_or_default();
                let content = utoipa::openapi::ContentBuilder::new().schema(Some(media_schema(media))).build();
                ResponseBuilder::new().description(format!("Success: {media}.")).content(media, content).build()
            }
            (Some(answer), _) => {
                for (name, schema) in &answer.schemas {
                    components = register(components, name, schema);
                }
                json_response("Success.", &answer.name)
            }
            (None, false) => json_response("Accepted: the command's events are committed.", "CommandAnswer"),
            (None, true) => json_response("Success: `{data}`.", "Answer"),
        };
        let mut builder = OperationBuilder::new()
            .operation_id(Some(operation_id(&operation.method, operation.path)))
            .tag(tag(operation.path))
            .summary(Some(operation.summary))
            .description(Some(format!("Who: {}.", operation.who.describe())))
            .response("2XX", success)
            .response("4XX", problem_response("Refused: problem JSON (RFC 9457)."))
            .response("5XX", problem_response("Failed or unavailable: problem JSON (RFC 9457)."));
        if let Some(body) = &operation.body {
            let content =
                utoipa::openapi::ContentBuilder::new().schema(Some(utoipa::openapi::Ref::from_schema_name(&body.name)));
            builder = builder.request_body(Some(
                utoipa::openapi::request_body::RequestBodyBuilder::new()
                    .content("application/json", content.build())
                    .required(Some(Required::True))
                    .build(),
            ));
            for (name, schema) in &body.schemas {
                components = register(components, name, schema);
            }
        }
        if !operation.body_media.is_empty() {
            let bytes = || {
                let binary = ObjectBuilder::new().schema_type(Type::String).content_encoding("binary");
                utoipa::openapi::ContentBuilder::new().schema(Some(binary)).build()
            };
            let request_body = operation
                .body_media
                .iter()
                .fold(utoipa::openapi::request_body::RequestBodyBuilder::new(), |body, media| {
                    body.content(*media, bytes())
                })
                .required(Some(Required::True));
            builder = builder.request_body(Some(request_body.build()));
        }
        for parameter in &operation.query {
            let mut parameter = parameter.clone();
            // A list is written with commas (`status=paid,fulfilled`), as the reading types read it.
            if matches!(&parameter.schema, Some(RefOr::T(Schema::Array(_)))) {
                parameter.style = Some(utoipa::openapi::path::ParameterStyle::Form);
                parameter.explode = Some(false);
            }
            builder = builder.parameter(parameter);
        }
        for name in &operation.headers {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Header)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        // A catch-all segment (`{*path}`) is an ordinary path parameter to OpenAPI.
        let documented = operation.path.replace("{*", "{");
        for name in documented.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            let format = |format: &str| Some(utoipa::openapi::SchemaFormat::Custom(format.to_owned()));
            let schema = match name {
                // A code like EUR; which codes are known is the rule's (`422 unknown_currency`).
                "currency" => ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[A-Z]{3}$")),
                "name" | "path" => ObjectBuilder::new().schema_type(Type::String),
                "dead_letter_id" => ObjectBuilder::new().schema_type(Type::Integer).format(format("int64")),
                // A picture's id and one of its files (`medium.jpg`).
                "picture_id" => ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-f]{64}$")),
                "file" => {
                    ObjectBuilder::new().schema_type(Type::String).pattern(Some("^(small|medium|large)\\.(jpg|webp)$"))
                }
                _ => ObjectBuilder::new().schema_type(Type::String).format(format("uuid")),
            };
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(schema)),
            );
        }
        if operation.who.needs_token() {
            builder = builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        // The roles a token must have, for clients and tools that pick the operations a user may call.
        if let Some(roles) = operation.who.roles() {
            let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
            let extensions = utoipa::openapi::extensions::ExtensionsBuilder::new().add("x-roles", names).build();
            builder = builder.extensions(Some(extensions));
        }
        paths.add_path_operation(documented, vec![http_method(&operation.method)], builder.build());
    }
    let bearer = SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build());
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title(title).version(version).build())
        .paths(paths)
        .components(Some(components.security_scheme("bearer", bearer).build()))
        .build()
}

/// What a command answers once its events are committed: the aggregate's (or the new part's) id and the
/// stream's version, and the token that reads it back.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct CommandAnswer {
    data: CommandData,
    /// Send it as `X-Consistency-Token` to read this write back.
    consistency_token: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct CommandData {
    id: uuid::Uuid,
    /// The stream's version after the command (also the answer's `ETag`).
    version: i64,
}

/// Every successful JSON answer: `{data}`, and a command's `consistency_token`.
fn answer_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    ObjectBuilder::new()
        .property("data", ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue))
        .property("consistency_token", ObjectBuilder::new().schema_type(Type::String))
        .required("data")
        .into()
}

/// Where the OpenAPI document is served (API.md).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The text rule every string a request sends obeys ([`crate::text`]): no control character but tab, line feed
/// and carriage return.
const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// Writes the text rule into every plain string schema of `document` (one without a format, a pattern or a list
/// of values of its own), so that a client or a generator knows a control character is refused; and says of
/// every query parameter that a blank value is taken (as none).
fn with_text_rule(document: &mut serde_json::Value) {
    use serde_json::Value;
    match document {
        Value::Object(fields) => {
            let string = match fields.get("type") {
                Some(Value::String(kind)) => kind == "string",
                Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "string"),
                _ => false,
            };
            let own = ["format", "pattern", "enum", "const"].iter().any(|key| fields.contains_key(*key));
            if string && !own {
                fields.insert("pattern".to_owned(), Value::from(TEXT_PATTERN));
                fields.entry("maxLength").or_insert(Value::from(crate::text::MAX_TEXT_CHARS));
            }
            // A blank query parameter reads as one not sent, on every route.
            if fields.get("in").is_some_and(|place| place == "query") {
                fields.insert("allowEmptyValue".to_owned(), Value::Bool(true));
            }
            fields.values_mut().for_each(with_text_rule);
        }
        Value::Array(items) => items.iter_mut().for_each(with_text_rule),
        _ => {}
    }
}

/// What `GET /api/v1/openapi.json` answers: an OpenAPI document, as its own specification describes it.
fn document_schema() -> BodySchema {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let object = || ObjectBuilder::new().schema_type(Type::Object);
    let document = ObjectBuilder::new()
        .property("openapi", text())
        .property("info", object())
        .property("paths", object())
        .property("components", object())
        .required("openapi")
        .required("info")
        .required("paths");
    let name = "OpenApiDocument".to_owned();
    BodySchema { name: name.clone(), schemas: vec![(name, document.into())] }
}

/// Where the interactive API documentation is served.
pub const DOCS_PATH: &str = "/api/v1/docs";

/// The page of [`DOCS_PATH`]: RapiDoc (MIT, `assets/rapidoc-LICENSE.txt`) rendering the document, served from here
/// with everything it needs; its content security policy lets it load nothing from anywhere else.
const DOCS_PAGE: &str = include_str!("../assets/docs.html");
const DOCS_SCRIPT_PATH: &str = "/api/v1/docs/rapidoc-9.3.8.min.js";
const DOCS_SCRIPT: &str = include_str!("../assets/rapidoc-9.3.8.min.js");
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

/// An operation of the document's own routes: this document and the page that renders it.
fn own_operation(
    path: &'static str,
    summary: &'static str,
    answer: Option<BodySchema>,
    media: Option<&'static str>,
) -> Operation {
    Operation {
        method: Method::GET,
        path,
        summary,
        who: Who::Anyone,
        body: None,
        body_media: &[],
        body_limit: None,
        query: Vec::new(),
        answer,
        no_content: false,
        headers: Vec::new(),
        media,
    }
}

/// `GET /api/v1/openapi.json`: the document of `operations` and of the routes here; `GET /api/v1/docs`: the page
/// that renders it, to read the API and try it.
pub fn openapi_router(title: &str, version: &str, mut operations: Vec<Operation>) -> Router {
    operations.push(own_operation(OPENAPI_PATH, "This OpenAPI 3.1 document", Some(document_schema()), None));
    operations.push(own_operation(DOCS_PATH, "This document, to read and try (a page)", None, Some("text/html")));
    operations.push(own_operation(DOCS_SCRIPT_PATH, "The page's script", None, Some("text/javascript")));
    let document = openapi(title, version, &operations);
    let mut body =
        serde_json::to_value(&document).unwrap_or_else(|error| unreachable!("an OpenAPI document serialises: {error}"));
    with_text_rule(&mut body);
    let body = body.to_string();
    let page = |content_type: &'static str, text: &'static str, cache: &'static str| {
        axum::routing::get(move || async move {
            let headers = [
                (http::header::CONTENT_TYPE, content_type),
                (http::header::CONTENT_SECURITY_POLICY, DOCS_POLICY),
                (http::header::CACHE_CONTROL, cache),
            ];
            (headers, text)
        })
    };
    Router::new()
        .route(
            OPENAPI_PATH,
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route(DOCS_PATH, page("text/html; charset=utf-8", DOCS_PAGE, "no-cache"))
        .route(
            DOCS_SCRIPT_PATH,
            page("text/javascript; charset=utf-8", DOCS_SCRIPT, "public, max-age=31536000, immutable"),
        )
}

#[cfg(test)]
mod tests {
    use super::{operation_id, tag, unknown_parameter};
    use http::Method;

    #[test]
    fn every_plain_string_says_the_text_rule() {
        let mut document = serde_json::json!({ "a": { "type": "string" }, "b": { "type": ["string", "null"] },
            "c": { "type": "string", "format": "uuid" }, "d": { "type": "string", "pattern": "^x$" },
            "e": { "type": "integer" }, "f": [{ "type": "string", "maxLength": 5 }] });
        super::with_text_rule(&mut document);
        let pattern = document["a"]["pattern"].as_str().expect("a pattern");
        assert!(pattern.contains("u0000") && pattern.contains("u009F"), "{pattern}");
        assert!(document["b"]["pattern"].is_string() && document["a"]["maxLength"].is_number());
        assert!(document["c"].get("pattern").is_none() && document["d"]["pattern"] == "^x$");
        assert!(document["e"].get("pattern").is_none());
        assert_eq!(document["f"][0]["maxLength"], 5, "a schema's own bound stays");
    }

    #[test]
    fn an_operation_has_an_id_and_a_tag_from_its_path() {
        assert_eq!(operation_id(&Method::POST, "/api/v1/courses/{id}/publish"), "postCoursesIdPublish");
        assert_eq!(operation_id(&Method::GET, "/api/v1/me/last-viewed-course"), "getMeLastViewedCourse");
        assert_eq!(tag("/api/v1/courses/{id}/publish"), "courses");
        assert_eq!(tag("/api/v1/admin/orders"), "admin orders");
        assert_eq!(tag("/api/v1/openapi.json"), "openapi");
    }

    #[test]
    fn a_query_parameter_a_route_does_not_read_is_named() {
        let known = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        assert_eq!(unknown_parameter("", &[]), None);
        assert_eq!(unknown_parameter("page=2&limit=5", &known(&["page", "limit"])), None);
        assert_eq!(unknown_parameter("page=2&colour=red", &known(&["page", "limit"])), Some("colour".to_owned()));
        assert_eq!(unknown_parameter("p%61ge=1", &known(&["page"])), None, "names are decoded");
        assert_eq!(unknown_parameter("page", &[]), Some("page".to_owned()), "a bare name is a parameter too");
    }
}
