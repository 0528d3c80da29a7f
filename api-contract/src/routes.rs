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

    /// The roles a route for these callers is open to (`None`: anyone, token or not).
    pub fn roles(self) -> Option<&'static [Role]> {
        const EVERY_ROLE: &[Role] = &[Role::Admin, Role::Instructor, Role::IndividualTrainee, Role::CorporateTrainee];
        match self {
            Who::Anyone | Who::Guest => None,
            Who::User => Some(EVERY_ROLE),
            Who::Instructor | Who::Owner => Some(&[Role::Instructor]),
            Who::Trainee => Some(&[Role::IndividualTrainee, Role::CorporateTrainee]),
            Who::InstructorOrAdmin | Who::OwnerOrAdmin => Some(&[Role::Instructor, Role::Admin]),
            Who::Admin => Some(&[Role::Admin]),
        }
    }
}

/// Lets a request through only if its token's role is one the route is for.
async fn enforce(State((keys, who)): State<(Arc<TokenKeys>, Who)>, request: Request, next: Next) -> Response {
    let Some(roles) = who.roles() else { return next.run(request).await };
    match crate::auth::authenticate(&keys, request.headers()) {
        Err(problem) => problem.into_response(),
        Ok(actor) if roles.contains(&actor.role) => next.run(request).await,
        Ok(_) => Problem::forbidden(format!("This is for {} only.", who.describe())).into_response(),
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
        self.operations.push(Operation { method, path, summary, who });
        self
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The routes, each behind the check of who may call it (tokens verified with `keys`).
    pub fn into_router(self, keys: &Arc<TokenKeys>) -> Router<S> {
        self.routes.into_iter().fold(Router::new(), |router, (path, route, who)| {
            let policy = axum::middleware::from_fn_with_state((Arc::clone(keys), who), enforce);
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
