//! Routes that document themselves: each route is registered once, with its method, path, a summary and who
//! may call it, and the OpenAPI 3.1 document is built from that same list. The document cannot miss a
//! route or list one that does not exist.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use http::Method;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths, Required, Type};

/// Who may call a route (the authorization matrix of DOMAIN.md, per route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, with or without a token.
    Anyone,
    /// Meant for guests; a token is not needed and changes nothing.
    Guest,
    /// Any signed-in user, acting on their own data.
    User,
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
}

impl Who {
    pub fn describe(self) -> &'static str {
        match self {
            Who::Anyone => "anyone",
            Who::Guest => "guests",
            Who::User => "any signed-in user, for themselves",
            Who::Instructor => "instructors",
            Who::Trainee => "trainees",
            Who::InstructorOrAdmin => "instructors (their own courses) and admins",
            Who::Owner => "the course's instructor",
            Who::OwnerOrAdmin => "the course's instructor or an admin",
            Who::Admin => "admins",
        }
    }

    fn needs_token(self) -> bool {
        !matches!(self, Who::Anyone | Who::Guest)
    }
}

/// One documented route.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// In axum's syntax, which OpenAPI shares: `/api/v1/courses/{id}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub who: Who,
}

/// A router that records every route it is given.
#[derive(Debug)]
pub struct ApiRoutes<S> {
    router: Router<S>,
    operations: Vec<Operation>,
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRoutes<S> {
    fn default() -> Self {
        ApiRoutes { router: Router::new(), operations: Vec::new() }
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
        self.router = self.router.route(path, on(filter, handler));
        self.operations.push(Operation { method, path, summary, who });
        self
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn into_router(self) -> Router<S> {
        self.router
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

/// The OpenAPI 3.1 document of `operations`.
pub fn openapi(title: &str, version: &str, operations: &[Operation]) -> OpenApi {
    let mut paths = Paths::new();
    for operation in operations {
        let mut builder = OperationBuilder::new()
            .summary(Some(operation.summary))
            .description(Some(format!("Who: {}.", operation.who.describe())))
            .response("default", ResponseBuilder::new().description("Success, or problem JSON (RFC 9457)."));
        for name in operation.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            let (kind, format) = match name {
                "currency" => (Type::String, None),
                "dead_letter_id" => (Type::Integer, Some("int64")),
                _ => (Type::String, Some("uuid")),
            };
            let mut schema = ObjectBuilder::new().schema_type(kind);
            if let Some(format) = format {
                schema = schema.format(Some(utoipa::openapi::SchemaFormat::Custom(format.to_owned())));
            }
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
        paths.add_path_operation(operation.path, vec![http_method(&operation.method)], builder.build());
    }
    let bearer = SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build());
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title(title).version(version).build())
        .paths(paths)
        .components(Some(ComponentsBuilder::new().security_scheme("bearer", bearer).build()))
        .build()
}

/// Where the OpenAPI document is served (API.md).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// `GET /api/v1/openapi.json`: the document of `operations` and of this route itself.
pub fn openapi_router(title: &str, version: &str, mut operations: Vec<Operation>) -> Router {
    operations.push(Operation {
        method: Method::GET,
        path: OPENAPI_PATH,
        summary: "This OpenAPI 3.1 document",
        who: Who::Anyone,
    });
    let document = openapi(title, version, &operations);
    let body = document.to_json().unwrap_or_else(|error| unreachable!("an OpenAPI document serialises: {error}"));
    Router::new().route(
        OPENAPI_PATH,
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}
